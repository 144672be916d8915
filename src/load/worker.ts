import { parentPort, workerData } from 'node:worker_threads';
import type { StepPart } from '../model/load-step.js';
import { StepRunner } from './step-runner.js';
import type { ToWorker, WorkerPlan } from './worker-plan.js';

/**
 * A worker thread of the load generator (generator.ts starts it): opens its first connections,
 * says `ready`, runs its share of the step from the `start` message's instant, and posts its
 * StepPart when the step ends or a `stop` message aborts it.
 */
const plan = workerData as WorkerPlan;
const port = parentPort!;
const runner = new StepRunner(plan, new Int32Array(plan.shared));
runner.onDone = (part: StepPart) => {
  port.postMessage({ type: 'result', part });
  port.close();
};
port.on('message', (message: ToWorker) => {
  if (message.type === 'start') runner.start(message.startNs);
  else runner.stop();
});
await runner.prepare();
port.postMessage({ type: 'ready' });
