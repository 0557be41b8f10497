// The room's rules, through a real server process and Colyseus' SDK: node --test test/
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { Client } from "@colyseus/sdk";

const SERVER = fileURLToPath(new URL("../src/server.mjs", import.meta.url));
const METRE = 1 / 111_320; // degrees of latitude

async function startServer(mode, nearest) {
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const child = spawn(process.execPath, [SERVER, "--port", String(port), "--mode", mode, "--nearest", String(nearest)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve) => child.stdout.on("data", (chunk) => chunk.toString().includes("world on") && resolve()));
  return { child, url: `ws://127.0.0.1:${port}` };
}

/** A joined client that keeps every message it receives. */
async function join(url, lat, lng = 0) {
  const room = await new Client(url).join("world", { lat, lng });
  room.received = [];
  room.onMessage("*", (type, data) => room.received.push({ type, data }));
  return room;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function reply(room, type, where = () => true, timeout = 2000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const found = room.received.find((message) => message.type === type && where(message.data));
    if (found) return found.data;
    await sleep(10);
  }
  throw new Error(`no ${type} within ${timeout} ms`);
}

function move(room, lat, seq, lng = 0) {
  room.send("player-move", { position: { lat, lng }, seq, sentAt: Date.now() });
}

describe("messages mode, K = 2", () => {
  let server;
  let rooms;
  before(async () => {
    server = await startServer("messages", 2);
    // A at 0 m; B at 1 m and C at 2 m are its two nearest; D at 30 m is third; E is 2 km away.
    rooms = {};
    for (const [name, metres] of [["a", 0], ["b", 1], ["c", 2], ["d", 30], ["e", 2000]]) {
      rooms[name] = await join(server.url, metres * METRE);
    }
    await sleep(1200); // every nearest set has been recomputed since the last join
  });
  after(async () => {
    await Promise.all(Object.values(rooms).map((room) => room.leave()));
    server.child.kill();
  });

  test("an accepted move is acknowledged with its seq", async () => {
    move(rooms.b, 1.5 * METRE, 1);
    const ack = await reply(rooms.b, "move-ack");
    assert.equal(ack.seq, 1);
    assert.equal(ack.position.lat, 1.5 * METRE);
  });

  test("one of a player's K nearest is heard, with the mover's sentAt", async () => {
    rooms.a.received.length = 0;
    move(rooms.c, 2.5 * METRE, 1);
    const moved = await reply(rooms.a, "player-moved", (data) => data.playerId === rooms.c.sessionId);
    assert.equal(typeof moved.sentAt, "number");
  });

  test("a player beyond the K nearest is not heard", async () => {
    move(rooms.d, 31 * METRE, 1);
    await reply(rooms.d, "move-ack");
    await sleep(200);
    const fromD = rooms.a.received.filter((m) => m.type === "player-moved" && m.data.playerId === rooms.d.sessionId);
    assert.deepEqual(fromD, []);
  });

  test("a player outside the cells around is not heard", async () => {
    rooms.e.received.length = 0;
    move(rooms.a, 0.5 * METRE, 1);
    await reply(rooms.a, "move-ack");
    await sleep(200);
    assert.deepEqual(rooms.e.received.filter((m) => m.type === "player-moved"), []);
  });

  test("a move faster than the speed limit is refused", async () => {
    move(rooms.e, 2100 * METRE, 2); // 100 m at once: more than 5 m/s saved up for 10 s, plus 5 m
    const refusal = await reply(rooms.e, "move-rejected");
    assert.equal(refusal.reason, "too_fast");
    assert.equal(refusal.position.lat, 2000 * METRE);
  });

  test("a move beyond the range of where the player joined is refused", async () => {
    rooms.b.received.length = 0;
    move(rooms.b, 700 * METRE, 3);
    assert.equal((await reply(rooms.b, "move-rejected")).reason, "out_of_range");
  });

  test("a move without a position gets an error naming it", async () => {
    rooms.b.send("player-move", { seq: 4 });
    assert.equal((await reply(rooms.b, "error")).code, "bad_move");
  });

  test("those who heard a player who leaves are told", async () => {
    const gone = rooms.c.sessionId;
    await rooms.c.leave();
    delete rooms.c;
    assert.equal((await reply(rooms.a, "player-disconnected", (data) => data.playerId === gone)).playerId, gone);
  });
});

describe("state mode, K = 2", () => {
  let server;
  let rooms;
  before(async () => {
    server = await startServer("state", 2);
    rooms = {};
    for (const [name, metres] of [["a", 0], ["b", 1], ["c", 2], ["d", 30]]) {
      rooms[name] = await join(server.url, metres * METRE);
    }
    await sleep(1200);
  });
  after(async () => {
    await Promise.all(Object.values(rooms).map((room) => room.leave()));
    server.child.kill();
  });

  test("a client's state holds its K nearest players only", () => {
    assert.deepEqual([...rooms.a.state.players.keys()].sort(), [rooms.b.sessionId, rooms.c.sessionId].sort());
  });

  test("a heard player's move reaches the client in a patch, with its sentAt", async () => {
    const sentAt = Date.now();
    rooms.b.send("player-move", { position: { lat: 1.5 * METRE, lng: 0 }, seq: 1, sentAt });
    await reply(rooms.b, "move-ack");
    await sleep(150); // a patch goes out every 50 ms
    const heard = rooms.a.state.players.get(rooms.b.sessionId);
    assert.equal(heard.sentAt, sentAt);
    assert.equal(heard.lat, 1.5 * METRE);
  });
});
