// The load tool for the Colyseus world: `python -m loadtest`'s schedule and
// figures, on Colyseus' client SDK, with the players in --workers processes.
//
//   node src/load.mjs --url ws://127.0.0.1:2567 --server-pid 1234 --players 1000 \
//       --radius 5000 --duration 30 --mode messages --json report.json
//
// Besides loadtest's report it gives the moves heard and the bytes received per
// client per second, and, from /proc/<server-pid>, the server's CPU per 1,000
// moves heard (deliveries) and its resident memory. --idle N measures instead
// the memory N connected idle players cost the server.

import { fork } from "node:child_process";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { Client } from "@colyseus/sdk";

import { clockMs, SimulatedPlayer, sleep } from "./players.mjs";
import { COUNTERS, emptyStats, error, Histogram, round } from "./stats.mjs";

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

export function serverCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/);
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export function serverRssKib(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m);
  return Number(line[1]);
}

/** Play `config.players` players against the server; the report. */
export async function runLoad(config) {
  const start = clockMs() + 2000; // the workers load the SDK meanwhile
  const until = start + config.duration * 1000;
  const countFrom = start + config.warmup * 1000;
  const workers = Math.min(config.workers, config.players);
  const shared = { ...config, start, until, countFrom };
  let window = null; // server CPU seconds at the window's two ends
  let rssPeak = 0;
  const sampler = setInterval(() => {
    if (clockMs() >= countFrom) rssPeak = Math.max(rssPeak, serverRssKib(config.serverPid));
  }, 1000);
  const atStart = sleep(countFrom - clockMs()).then(() => {
    window = { cpu: serverCpuSeconds(config.serverPid), at: clockMs() };
  });
  const atEnd = sleep(until - clockMs()).then(() => ({
    cpu: serverCpuSeconds(config.serverPid),
    at: clockMs(),
    rss: serverRssKib(config.serverPid),
  }));
  const results = await Promise.all(
    Array.from({ length: workers }, (_, worker) => playInWorker(shared, worker, workers)),
  );
  await atStart;
  const end = await atEnd;
  clearInterval(sampler);
  const stats = emptyStats();
  for (const result of results) {
    for (const name of COUNTERS) stats[name] += result[name];
    stats.ack.absorb(result.ack);
    stats.neighbour.absorb(result.neighbour);
    stats.error_samples = stats.error_samples.concat(result.error_samples).slice(0, 20);
  }
  const seconds = (end.at - window.at) / 1000;
  const cpuSeconds = end.cpu - window.cpu;
  const clients = Math.max(stats.peak_connected, 1);
  return {
    server: "colyseus",
    mode: config.mode,
    servers: [config.url],
    players: config.players,
    radius_m: config.radius,
    duration_s: round(seconds),
    warmup_s: config.warmup,
    move_rate: config.moveRate,
    connected: stats.peak_connected,
    moves_sent: stats.moves_sent,
    moves_acked: stats.moves_acked,
    moves_rejected: stats.moves_rejected,
    acked_share: stats.moves_sent ? round(stats.moves_acked / stats.moves_sent, 5) : null,
    moves_per_s: round(stats.moves_acked / seconds, 1),
    errors: stats.errors,
    error_samples: stats.error_samples,
    ack_ms: stats.ack.percentiles(),
    neighbour_ms: stats.neighbour.percentiles(),
    deliveries_per_s: round(stats.heard / seconds, 1),
    heard_per_client_s: round(stats.heard / clients / seconds),
    bytes_per_client_s: round(stats.bytes_received / clients / seconds, 0),
    server_cpu_share: round((100 * cpuSeconds) / seconds, 1),
    server_cpu_ms_per_1000_deliveries: stats.heard ? round((cpuSeconds * 1e6) / stats.heard) : null,
    server_rss_mib: round(end.rss / 1024, 1),
    server_rss_peak_mib: round(Math.max(rssPeak, end.rss) / 1024, 1),
  };
}

function playInWorker(config, worker, workers) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--worker"], { stdio: "inherit" });
    child.once("message", (result) => resolve(result));
    child.once("exit", (code) => code && reject(new Error(`load worker ${worker} exited ${code}`)));
    child.send({ config, worker, workers });
  });
}

/** In a worker: this worker's share of the players, connecting at the run's ramp. */
async function worker({ config, worker, workers }) {
  const stats = emptyStats();
  const games = [];
  for (let index = worker; index < config.players; index += workers) {
    await sleep(config.start + (index / config.ramp) * 1000 - clockMs());
    const player = new SimulatedPlayer(index, config, stats);
    games.push(
      player.run(config.until).catch((failure) => error(stats, `player ${index}: ${failure.message ?? failure}`)),
    );
  }
  await Promise.all(games);
  process.send(
    { ...stats, ack: stats.ack.toJSON(), neighbour: stats.neighbour.toJSON() },
    () => process.exit(0),
  );
}

/** KiB of the server's resident memory per connected idle player (as bench/websocket.py). */
export async function idleMemory({ url, serverPid, players }) {
  const join = (n) => new Client(url).join("world", { lat: (n % 40) * 0.018, lng: Math.floor(n / 40) * 0.018 });
  for (const room of await Promise.all(Array.from({ length: 20 }, (_, n) => join(n)))) await room.leave();
  await sleep(2000);
  const before = serverRssKib(serverPid);
  const rooms = [];
  for (let n = 0; n < players; n += 50) {
    const batch = Array.from({ length: Math.min(50, players - n) }, (_, i) => join(n + i));
    rooms.push(...(await Promise.all(batch)));
  }
  await sleep(3000);
  const after = serverRssKib(serverPid);
  await Promise.all(rooms.map((room) => room.leave()));
  return round((after - before) / players, 1);
}

function summary(report) {
  const { ack_ms: ack, neighbour_ms: neighbour } = report;
  return (
    `colyseus ${report.mode}: ${report.players} players within ${report.radius_m} m, ` +
    `${report.moves_per_s} moves/s, ${(100 * (report.acked_share ?? 0)).toFixed(2)} % acked, move→ack p50/p99 ${ack.p50}/${ack.p99} ms, ` +
    `move→neighbour p99 ${neighbour.p99} ms, ${report.heard_per_client_s} moves heard and ` +
    `${report.bytes_per_client_s} B received per client per s, ${report.deliveries_per_s} deliveries/s, ` +
    `server CPU ${report.server_cpu_ms_per_1000_deliveries} ms per 1,000 deliveries ` +
    `(${report.server_cpu_share} % of a core), RSS ${report.server_rss_mib} MiB, errors ${report.errors}`
  );
}

export function loadOptions() {
  return {
    url: { type: "string", default: "ws://127.0.0.1:2567" },
    "server-pid": { type: "string" },
    mode: { type: "string", default: "messages" },
    players: { type: "string", default: "100" },
    duration: { type: "string", default: "30" },
    warmup: { type: "string", default: "0" },
    "move-rate": { type: "string", default: "1" },
    ramp: { type: "string", default: "100" },
    centre: { type: "string", default: "0,0" },
    radius: { type: "string", default: "5000" },
    workers: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
  };
}

export function loadConfig(values) {
  const config = {
    url: values.url.replace(/\/$/, ""),
    serverPid: Number(values["server-pid"]),
    mode: values.mode,
    players: Number(values.players),
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    moveRate: Number(values["move-rate"]),
    ramp: Number(values.ramp),
    centre: values.centre.split(",").map(Number),
    radius: Number(values.radius),
    workers: Number(values.workers),
    seed: Number(values.seed),
  };
  const positive = ["players", "duration", "moveRate", "ramp", "workers"];
  for (const name of positive) {
    if (!(config[name] > 0)) throw new Error(`--${name} must be a positive number`);
  }
  if (!(config.warmup >= 0 && config.warmup < config.duration)) {
    throw new Error("--warmup must be at least 0 and shorter than --duration");
  }
  return config;
}

async function main() {
  if (process.argv.includes("--worker")) {
    process.once("message", (message) => worker(message));
    return;
  }
  const { values } = parseArgs({
    options: { ...loadOptions(), json: { type: "string" }, idle: { type: "string" } },
  });
  const config = loadConfig(values);
  if (!config.serverPid) throw new Error("--server-pid: the server process to measure");
  if (values.idle) {
    const kib = await idleMemory({ url: config.url, serverPid: config.serverPid, players: Number(values.idle) });
    console.log(JSON.stringify({ idle_players: Number(values.idle), kib_per_idle_player: kib }));
    process.exit(0);
  }
  const report = await runLoad(config);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  console.log(JSON.stringify(report, null, 2));
  console.log(summary(report));
  process.exit(0);
}

export { summary };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
