// The TypeScript SDK's client over streamable HTTP: start a streaming `chat`, abort it at its first
// progress notification, stay connected past the time the rest of the answer would take, and print
// as JSON what the client saw, its error handlers included. Usage: node ts_cancel_chat.mjs URL MODEL
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, model] = process.argv.slice(2);
const errors = [];
const client = new Client({ name: "ts-cancel-chat", version: "1" });
client.onerror = (error) => errors.push(String(error));
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);

const controller = new AbortController();
let progressed;
const firstProgress = new Promise((resolve) => (progressed = resolve));
const call = client.callTool({ name: "chat", arguments: { prompt: "hello", model } }, undefined, {
  signal: controller.signal,
  onprogress: () => progressed(),
});
await firstProgress;
controller.abort("cancelled by the user");
const outcome = await call.then(
  () => "answered",
  (error) => `rejected: ${error}`,
);
await new Promise((resolve) => setTimeout(resolve, 6000));
await client.close();
console.log(JSON.stringify({ sessionId: transport.sessionId ?? null, protocol: transport.protocolVersion, outcome, errors }));
