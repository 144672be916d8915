import { StringDecoder } from 'node:string_decoder';

/**
 * One message of the Docker Engine's JSON-lines progress stream (image build and push), e.g.
 * `{"stream":"Step 1/2 : FROM python:3.11\n"}`. Only the fields oep reads are typed.
 */
export interface JsonMessage {
  /** Build output, as the build's steps print it. */
  stream?: string;
  status?: string;
  /** The layer a status is about; absent when the status is about the whole image. */
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Digest?: string };
}

/**
 * The messages of a Docker Engine progress stream, one a line: lines are joined across chunks,
 * blank lines are skipped and a last line without a newline still counts. A line that is not a
 * JSON object comes as the line itself (a string), so each caller says what such a line means.
 */
export async function* jsonMessages(stream: AsyncIterable<Buffer | string>): AsyncGenerator<JsonMessage | string> {
  // One decoder for the whole stream, so a UTF-8 character split between two chunks stays whole.
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk);
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.trim()) yield parseLine(line);
  }
  pending += decoder.end();
  if (pending.trim()) yield parseLine(pending);
}

/** What a message says went wrong (the detail's message first), or undefined when it is no error. */
export function messageError(message: JsonMessage): string | undefined {
  return message.error ? (message.errorDetail?.message ?? message.error) : undefined;
}

function parseLine(line: string): JsonMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return line;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonMessage) : line;
}
