// Runs one @imagekit/nodejs call described by the JSON in argv[2] and prints the outcome as
// JSON: {"ok": true, "result": …} or {"ok": false, "error": {status, message, body, retry}}.
// job: {op: "upload" | "uploadV2", client: {privateKey, baseURL, maxRetries}, params: {…},
//       file?: a local path sent as the binary file part (else params.file is sent as text)}
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import ImageKit, { toFile } from "@imagekit/nodejs";

const job = JSON.parse(process.argv[2]);
const client = new ImageKit({ maxRetries: 0, ...job.client });
const params = { ...job.params };
if (job.file) params.file = await toFile(readFileSync(job.file), basename(job.file));
const calls = {
  upload: () => client.files.upload(params),
  uploadV2: () => client.beta.v2.files.upload(params),
};

try {
  const result = await calls[job.op]();
  process.stdout.write(JSON.stringify({ ok: true, result }));
} catch (error) {
  process.stdout.write(
    JSON.stringify({
      ok: false,
      error: {
        name: error.constructor?.name ?? null,
        status: error.status ?? null,
        message: String(error.message),
        body: error.error ?? null,
        retry: error.headers?.get?.("x-should-retry") ?? null,
      },
    }),
  );
}
process.exit(0);
