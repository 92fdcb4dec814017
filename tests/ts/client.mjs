// The official MCP TypeScript SDK client against a running chutes-mcp: every scenario on one
// connection, observations printed as one JSON object on stdout for tests/test_ts_client.py to judge.
//
//   node tests/ts/client.mjs < config.json
//
// The config (on stdin: it carries the server's environment, key included) is
//   {"sdk": "v1" | "v2", "era": "legacy" | "modern", "transport": "stdio" | "http",
//    "server": {"command", "args", "env"} (stdio) | "url": "http://.../mcp" (http),
//    "sim": "http://..." (the Chutes simulator the server talks to), "only": ["scenario", ...]}
//
// sdk v1 is @modelcontextprotocol/sdk, the 1.x line most hosts embed, which speaks the 2025 protocol
// only; v2 is @modelcontextprotocol/client (installed as `mcp-client-2` so that the Inspector keeps
// the 2.x copy it pins), which speaks 2025-11-25 by default and, in era "modern", negotiates as a
// host that supports both eras would: mode "auto" probes with `server/discover` (on stdio from a
// short-lived sibling process) and takes 2026-07-28 on definitive evidence, else falls back. The
// slow scenarios tune the simulator through /_sim/config and read what it saw from /_sim/stats.
//
// This script observes and does not judge: pytest does, on the report.

import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(0, "utf8"));
// The simulator's pace for the slow scenarios: every answer has at least 20 one-token words.
const SLOW_TOKENS_PER_S = 10;
const PLAIN = "unsloth/Mistral-Nemo-Instruct-2407"; // no TEE, no reasoning: tokens stream at once
const WAIT_MS = 10_000; // the bound on any wait of ours: a regression fails instead of hanging

// Read from the file: the 1.x package maps `package.json` in its exports to a stub without a version.
function installedVersion(name) {
  const manifest = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(manifest, "utf8")).version;
}

async function loadSdk(sdk) {
  if (sdk === "v1") {
    const [{ Client }, { StdioClientTransport }, { StreamableHTTPClientTransport }, { McpError }] =
      await Promise.all([
        import("@modelcontextprotocol/sdk/client/index.js"),
        import("@modelcontextprotocol/sdk/client/stdio.js"),
        import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
        import("@modelcontextprotocol/sdk/types.js"),
      ]);
    return {
      version: installedVersion("@modelcontextprotocol/sdk"),
      Client,
      StdioClientTransport,
      StreamableHTTPClientTransport,
      isProtocolError: (error) => error instanceof McpError,
      // 1.x takes a result schema before the options; undefined keeps its default.
      callTool: (client, params, options) => client.callTool(params, undefined, options),
    };
  }
  const [{ Client, StreamableHTTPClientTransport, ProtocolError }, { StdioClientTransport }] =
    await Promise.all([import("mcp-client-2"), import("mcp-client-2/stdio")]);
  return {
    version: installedVersion("mcp-client-2"),
    Client,
    StdioClientTransport,
    StreamableHTTPClientTransport,
    isProtocolError: (error) => error instanceof ProtocolError,
    callTool: (client, params, options) => client.callTool(params, options),
  };
}

const sdk = await loadSdk(config.sdk);

// The 1.x client does not say which version the server chose; record it from the initialize result.
function recordingVersion(transport, seen) {
  return {
    start: () => transport.start(),
    send: (message, options) => transport.send(message, options),
    close: () => transport.close(),
    setProtocolVersion: (version) => transport.setProtocolVersion?.(version),
    get sessionId() {
      return transport.sessionId;
    },
    set onclose(handler) {
      transport.onclose = handler;
    },
    set onerror(handler) {
      transport.onerror = handler;
    },
    set onmessage(handler) {
      transport.onmessage = (message, extra) => {
        if (message.result?.protocolVersion && !seen.version) seen.version = message.result.protocolVersion;
        handler(message, extra);
      };
    },
  };
}

function makeTransport() {
  if (config.transport === "stdio") {
    const { command, args, env } = config.server;
    return new sdk.StdioClientTransport({ command, args, env, stderr: "pipe" });
  }
  return new sdk.StreamableHTTPClientTransport(new URL(config.url));
}

async function connect() {
  const options = { capabilities: {} };
  if (config.sdk === "v2" && config.era === "modern") {
    // Not pinned: the test checks that auto-negotiation ends on 2026-07-28 rather than falling back.
    options.versionNegotiation = { mode: "auto" };
  }
  const client = new sdk.Client({ name: `chutes-mcp-tests-ts-${config.sdk}`, version: sdk.version }, options);
  const transport = makeTransport();
  const stderr = [];
  transport.stderr?.on("data", (chunk) => stderr.push(chunk.toString()));
  const seen = {};
  const wrapped = config.sdk === "v1" ? recordingVersion(transport, seen) : transport;
  const transportErrors = [];
  await client.connect(wrapped, { timeout: WAIT_MS * 3 });
  // Set after connect: the client installs its own handlers there, and these only watch.
  const previous = transport.onerror;
  transport.onerror = (error) => {
    transportErrors.push(String(error?.message ?? error));
    previous?.(error);
  };
  // The client reports protocol trouble here, such as an answer to a request it cancelled ("unknown
  // message ID"); the SDK's default only logs it.
  client.onerror = (error) => transportErrors.push(String(error?.message ?? error));
  const version = config.sdk === "v1" ? seen.version : client.getNegotiatedProtocolVersion();
  return { client, transport, version, stderr, transportErrors };
}

// -- the simulator's control surface -------------------------------------------------------------------

async function simGet(path) {
  const response = await fetch(`${config.sim}${path}`, { signal: AbortSignal.timeout(WAIT_MS) });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return response.json();
}

async function simPatch(path, body) {
  const response = await fetch(`${config.sim}${path}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  if (!response.ok) throw new Error(`PATCH ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function withSlowSimulator(body) {
  const before = await simGet("/_sim/config");
  await simPatch("/_sim/config", { tokens_per_s: SLOW_TOKENS_PER_S });
  try {
    return await body();
  } finally {
    await simPatch("/_sim/config", { tokens_per_s: before.tokens_per_s });
  }
}

async function streams() {
  return (await simGet("/_sim/stats")).streams;
}

async function waitFor(condition) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// -- what a result looks like in the report -----------------------------------------------------------

function summary(result) {
  const text = result.content?.filter((block) => block.type === "text").map((block) => block.text).join("");
  return {
    isError: result.isError ?? false,
    contentTypes: (result.content ?? []).map((block) => block.type),
    text,
    structuredContent: result.structuredContent ?? null,
  };
}

async function call(client, name, args, options) {
  return summary(await sdk.callTool(client, { name, arguments: args }, options));
}

function errorOf(error) {
  return {
    protocolError: sdk.isProtocolError(error),
    code: error?.code ?? null,
    name: error?.name ?? null,
    message: String(error?.message ?? error),
  };
}

// -- the scenarios --------------------------------------------------------------------------------------

const scenarios = {
  async lists({ client }) {
    const [tools, resources, templates, prompts] = await Promise.all([
      client.listTools(),
      client.listResources(),
      client.listResourceTemplates(),
      client.listPrompts(),
    ]);
    return {
      tools: tools.tools.map((tool) => ({
        name: tool.name,
        description: tool.description ?? null,
        inputType: tool.inputSchema?.type ?? null,
        outputType: tool.outputSchema?.type ?? null,
        annotations: tool.annotations ?? null,
      })),
      resources: resources.resources.map(({ uri, name, mimeType }) => ({ uri, name, mimeType })),
      templates: templates.resourceTemplates.map(({ uriTemplate, name, mimeType }) => ({
        uriTemplate,
        name,
        mimeType,
      })),
      prompts: prompts.prompts.map(({ name, arguments: args }) => ({
        name,
        arguments: (args ?? []).map(({ name: argument, required }) => ({
          name: argument,
          required: !!required,
        })),
      })),
    };
  },

  // The 1.x and 2.x clients check structuredContent against each tool's outputSchema themselves (after
  // a tools/list, done above): a result that breaks its own schema throws here.
  chat: ({ client }) => call(client, "chat", { prompt: "hello", model: PLAIN }),
  embed: ({ client }) => call(client, "embed", { input: ["first", "second"], model: "BAAI/bge-m3" }),
  list_models: ({ client }) => call(client, "list_models", { limit: 3 }),
  get_model: ({ client }) => call(client, "get_model", { model: "zai-org/GLM-4.7-TEE" }),
  pick_model: ({ client }) => call(client, "pick_model", { task: "coding", k: 2 }),
  account: ({ client }) => call(client, "account", {}),
  tool_error: ({ client }) => call(client, "account", { verbose: true }),

  // A two-second answer under a one-second request timeout: only progress notifications, with
  // resetTimeoutOnProgress, keep the request alive.
  async progress({ client }) {
    return withSlowSimulator(async () => {
      const notifications = [];
      const timeout = 1000;
      const started = Date.now();
      const result = await call(
        client,
        "chat",
        { prompt: "hello", model: PLAIN, max_tokens: 20 },
        {
          timeout,
          resetTimeoutOnProgress: true,
          maxTotalTimeout: WAIT_MS * 3,
          onprogress: ({ progress, total, message }) =>
            notifications.push({ progress, total: total ?? null, message: message ?? null }),
        },
      );
      return { timeoutMs: timeout, elapsedMs: Date.now() - started, notifications, result };
    });
  },

  // Abort a streaming chat at its first progress notification: the server must close its upstream
  // stream to Chutes (the simulator counts it as closed early) rather than let the answer (2 to 4
  // seconds at this pace) run to its end, and the connection must still serve.
  async cancel({ client }) {
    return withSlowSimulator(async () => {
      const before = await streams();
      const controller = new AbortController();
      let openAtAbort = null;
      let outcome;
      try {
        const result = await call(
          client,
          "chat",
          { prompt: "hello", model: PLAIN, max_tokens: 40 },
          {
            signal: controller.signal,
            timeout: WAIT_MS * 3,
            onprogress: () => {
              if (controller.signal.aborted) return;
              streams().then((now) => {
                openAtAbort = now.open;
                controller.abort("the user pressed stop");
              });
            },
          },
        );
        outcome = { resolved: result };
      } catch (error) {
        outcome = { rejected: errorOf(error) };
      }
      // Until the stream has ended, one way or the other.
      const ended = await waitFor(async () => {
        const now = await streams();
        const done = now.closed_early + now.completed > before.closed_early + before.completed;
        return done && now.open === 0 ? now : null;
      });
      const after = ended ?? (await streams());
      const next = await call(client, "account", {}, { timeout: WAIT_MS });
      return {
        aborted: controller.signal.aborted,
        outcome,
        openAtAbort,
        closedEarly: after.closed_early - before.closed_early,
        completed: after.completed - before.completed,
        openAfter: after.open,
        nextCall: { isError: next.isError },
      };
    });
  },

  async resources_read({ client }) {
    const { resources } = await client.listResources();
    const read = async (uri) => {
      const { contents } = await client.readResource({ uri });
      return contents.map(({ uri: contentUri, mimeType, text }) => ({
        uri: contentUri,
        mimeType,
        json: text === undefined ? null : JSON.parse(text),
      }));
    };
    const byUri = {};
    for (const { uri } of resources) byUri[uri] = await read(uri);
    let missing;
    try {
      missing = { resolved: await read("chutes://models/no-such-org/no-such-model") };
    } catch (error) {
      missing = { rejected: errorOf(error) };
    }
    return {
      static: byUri,
      template: {
        byId: await read("chutes://models/zai-org/GLM-4.7-TEE"),
        byAlias: await read("chutes://models/chutes-default"),
      },
      missing,
    };
  },

  async completion({ client }) {
    const complete = async (ref, name, value) =>
      (await client.complete({ ref, argument: { name, value } })).completion;
    const template = { type: "ref/resource", uri: "chutes://models/{+model_id}" };
    const prompt = (name) => ({ type: "ref/prompt", name });
    return {
      templateModelId: await complete(template, "model_id", "zai-org/GLM"),
      chooseModelTask: await complete(prompt("choose_model"), "task", "co"),
      privateChatModel: await complete(prompt("private_chat"), "model", ""),
      secondOpinionFirstModel: await complete(prompt("second_opinion"), "first_model", "deepseek"),
    };
  },

  async prompts_get({ client }) {
    const get = async (name, args) => {
      const { messages } = await client.getPrompt({ name, arguments: args });
      return messages.map(({ role, content }) => ({ role, type: content.type, text: content.text ?? null }));
    };
    let unknownArgument;
    try {
      unknownArgument = { resolved: await get("choose_model", { colour: "blue" }) };
    } catch (error) {
      unknownArgument = { rejected: errorOf(error) };
    }
    return {
      private_chat: await get("private_chat", { request: "Summarise this contract." }),
      second_opinion: await get("second_opinion", { question: "Is P = NP?", first_answer: "No." }),
      choose_model: await get("choose_model", { task: "coding", needs: "a code reviewer" }),
      unknownArgument,
    };
  },

  // The 10 MiB rule: the TypeScript stdio transport drops the connection on any message over 10 MiB,
  // and 1024 vectors of 4096 floats are far more as JSON. The call must succeed within the limit or end
  // in a typed tool error, and the connection must serve the next call either way.
  async big_embed(connection) {
    const { client } = connection;
    const input = Array.from({ length: 1024 }, (_, index) => `text number ${index}`);
    let outcome;
    try {
      const brief = await call(
        client,
        "embed",
        { input, model: "Qwen/Qwen3-Embedding-8B", dimensions: 4096 },
        { timeout: WAIT_MS * 6 },
      );
      const structured = brief.structuredContent;
      outcome = {
        resolved: {
          isError: brief.isError,
          text: brief.isError ? brief.text : brief.text.split("\n", 1)[0],
          count: structured?.count ?? null,
          dimensions: structured?.dimensions ?? null,
          vectors: structured?.vectors?.length ?? null,
        },
      };
    } catch (error) {
      outcome = { rejected: errorOf(error) };
    }
    let next;
    try {
      next = { resolved: await call(client, "account", {}, { timeout: WAIT_MS }) };
    } catch (error) {
      next = { rejected: errorOf(error) };
    }
    return {
      outcome,
      next: next.resolved ? { isError: next.resolved.isError } : next,
      transportErrors: connection.transportErrors,
    };
  },
};

// -- the run --------------------------------------------------------------------------------------------

const { sdk: sdkName, era, transport } = config;
const report = { sdk: sdkName, sdkVersion: sdk.version, era, transport, scenarios: {} };
let connection;
try {
  connection = await connect();
  report.protocolVersion = connection.version ?? null;
  report.serverVersion = connection.client.getServerVersion() ?? null;
  for (const [name, run] of Object.entries(scenarios)) {
    if (config.only && !config.only.includes(name)) continue;
    const started = Date.now();
    try {
      report.scenarios[name] = { ok: true, data: await run(connection) };
    } catch (error) {
      report.scenarios[name] = { ok: false, error: errorOf(error), stack: error?.stack ?? null };
    }
    report.scenarios[name].elapsedMs = Date.now() - started;
  }
} catch (error) {
  report.connectError = errorOf(error);
} finally {
  try {
    await connection?.client.close();
  } catch (error) {
    report.closeError = errorOf(error);
  }
  report.serverStderr = connection?.stderr.join("").slice(-4000) ?? null;
}
// Exit once the report is flushed (a pipe is written asynchronously): nothing left open keeps us.
process.stdout.write(JSON.stringify(report) + "\n", () => process.exit(0));
