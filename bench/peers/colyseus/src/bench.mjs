// Player-count sweeps of the Colyseus world, as bench/capacity.py sweeps ours:
// for each count a fresh server process, the load tool against it, a row; the
// sweep stops at the first count whose p99 move→neighbour reaches 100 ms.
//
//   node src/bench.mjs --mode messages --players 1000,1500,2000,2500 --radius 5000
//   node src/bench.mjs --mode state --patch-ms 100 --players 300 --radius 150
//   node src/bench.mjs --mode state --idle 1000     (memory per idle client only)

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { idleMemory, loadConfig, loadOptions, runLoad, summary } from "./load.mjs";

const LIMIT_P99_MS = 100;
const SERVER = fileURLToPath(new URL("./server.mjs", import.meta.url));

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A fresh server process, once it listens. */
async function startServer({ mode, patchMs, nearest }) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [SERVER, "--port", String(port), "--mode", mode, "--patch-ms", String(patchMs), "--nearest", String(nearest)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the Colyseus server exited ${code}`)));
    child.stdout.on("data", (chunk) => chunk.toString().includes("world on") && resolve());
  });
  child.removeAllListeners("exit");
  return { child, url: `ws://127.0.0.1:${port}` };
}

async function stopServer({ child }) {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

function row(report) {
  const ms = (value) => (value === null ? "–" : value.toLocaleString("en", { maximumFractionDigits: 0 }));
  return (
    `| ${report.players} | ${report.radius_m} m | ${(100 * (report.acked_share ?? 0)).toFixed(2)} % ` +
    `| ${ms(report.ack_ms.p50)} / ${ms(report.ack_ms.p99)} ms | ${ms(report.neighbour_ms.p50)} / ${ms(report.neighbour_ms.p99)} ms ` +
    `| ${ms(report.deliveries_per_s)} | ${report.heard_per_client_s} | ${ms(report.bytes_per_client_s)} B ` +
    `| ${report.server_cpu_ms_per_1000_deliveries} ms | ${report.server_cpu_share} % | ${report.server_rss_mib} MiB | ${report.errors} |`
  );
}

async function main() {
  const { values } = parseArgs({
    options: {
      ...loadOptions(),
      players: { type: "string", default: "1000,1500,2000,2500" },
      "patch-ms": { type: "string", default: "50" },
      nearest: { type: "string", default: "50" },
      idle: { type: "string", default: "0" },
      "no-stop": { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const server = { mode: values.mode, patchMs: Number(values["patch-ms"]), nearest: Number(values.nearest) };
  const label = `colyseus ${server.mode}${server.mode === "state" ? ` (patch ${server.patchMs} ms)` : ""}, K ${server.nearest}`;
  const reports = [];
  let largest = null;
  const idle = Number(values.idle);
  const counts = idle ? [] : values.players.split(",").map(Number);
  for (const players of counts) {
    const running = await startServer(server);
    let report;
    try {
      const config = loadConfig({ ...values, players: String(players), url: running.url, "server-pid": String(running.child.pid) });
      report = { ...(await runLoad(config)), patch_ms: server.mode === "state" ? server.patchMs : null, nearest: server.nearest };
    } finally {
      await stopServer(running);
    }
    reports.push(report);
    console.log(JSON.stringify(report));
    console.error(summary(report));
    const within = report.neighbour_ms.p99 !== null && report.neighbour_ms.p99 < LIMIT_P99_MS && report.errors === 0;
    if (!within && !values["no-stop"]) break;
    if (within) largest = players;
  }
  let idleKib = null;
  if (idle) {
    const running = await startServer(server);
    try {
      idleKib = await idleMemory({ url: running.url, serverPid: running.child.pid, players: idle });
    } finally {
      await stopServer(running);
    }
    console.log(JSON.stringify({ server: "colyseus", mode: server.mode, idle_players: idle, kib_per_idle_player: idleKib }));
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ label, reports, largest, kib_per_idle_player: idleKib }, null, 2));
  console.error(`\n${label}, ${values.duration} s per run (warm-up ${values.warmup} s), generator in ${values.workers} processes`);
  if (reports.length) {
    console.error(
      "| players | radius | acked | move→ack p50 / p99 | move→neighbour p50 / p99 | deliveries/s | heard per client/s " +
        "| received per client/s | server CPU per 1,000 deliveries | server CPU | server RSS | errors |\n" +
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const report of reports) console.error(row(report));
    console.error(`largest player count with p99 move→neighbour < ${LIMIT_P99_MS} ms and no errors: ${largest ?? "none of those tried"}`);
  }
  if (idleKib !== null) console.error(`${idleKib} KiB per connected idle player (${idle} players)`);
  process.exit(0);
}

await main();
