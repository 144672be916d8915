import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runServerPython } from './harness.js';

// The worker's two timers, driven directly in a Python process (real timerfd, real SIGALRM): the
// standby's wake-up timer, kept armed across requests under load (WakeTimer.cover), and
// SCORING_TIMEOUT_MS's interval timer, left armed after run() returns (executor.py). Times are
// checked from below only, or against a far-off bound that a broken timer would reach.

describe("oep-server worker's timers", () => {
  it('keeps an arm due within the window, re-arms one due too early or too late, and fires', () => {
    const out = runServerPython(`
import time
from oep_server.timer import WakeTimer

timer = WakeTimer.create()
# (windows of seconds: a stall of up to 0.5 s between two lines changes nothing)
now = time.perf_counter()
timer.cover(now, 2.0, 1.0)
first = timer.due
assert now + 2.0 <= first < now + 2.5, "armed for 2 s after now"
timer.cover(now + 0.5, 2.0, 1.0)
assert timer.due == first, "an arm due within [now + 1.5, now + 2.5] is kept"
timer.cover(now + 1.5, 2.0, 1.0)
assert timer.due > first, "an arm due before the window [now + 2.5, now + 3.5] is replaced"
timer.arm(30.0)
start = time.perf_counter()
timer.cover(start, 0.05, 0.02)
assert timer.due < start + 1, "an arm due after the window is replaced"
timer.wait()
waited = time.perf_counter() - start
assert 0.049 <= waited < 25, "fired after %.3f s, not at the 30 s arm" % waited
later = time.perf_counter()
timer.cover(later, 0.05, 0.02)
assert timer.due >= later + 0.05, "a fired timer is armed again"
timer.wait()
print("ok")
`);
    assert.equal(out, 'ok\n');
  });

  it('ignores the alarm of a call that returned, and still times out the next one', () => {
    const out = runServerPython(`
import signal, time
from oep_server import executor
from oep_server.executor import Executor, Job, OUTCOME_OK, OUTCOME_TIMEOUT

signal.signal(signal.SIGALRM, executor.alarm_handler)
calls = Executor(200)
quick = Job(lambda: "done", {})
calls.execute(quick)
assert quick.outcome == OUTCOME_OK and quick.value == "done"
assert signal.getitimer(signal.ITIMER_REAL)[0] > 0, "the quick call's alarm stays armed"
time.sleep(0.5)  # that alarm goes off meanwhile, while no run() runs: ignored
assert signal.getitimer(signal.ITIMER_REAL)[0] == 0, "the alarm went off"
stuck = Job(lambda: time.sleep(30), {})
calls.execute(stuck)
assert stuck.outcome == OUTCOME_TIMEOUT, stuck.tb
assert 190 <= stuck.elapsed_ms < 25000, stuck.elapsed_ms

# An earlier call's alarm delivered just as a call starts: the call is not cut short, and the
# timer is armed for what is left of its own time.
executor._alarm_deadline = time.perf_counter() + 5.0
executor._alarm_armed = True
try:
    executor.alarm_handler(signal.SIGALRM, None)
finally:
    executor._alarm_armed = False
left = signal.getitimer(signal.ITIMER_REAL)[0]
signal.setitimer(signal.ITIMER_REAL, 0)
assert 0 < left <= 5.0, left
print("ok")
`);
    assert.equal(out, 'ok\n');
  });
});
