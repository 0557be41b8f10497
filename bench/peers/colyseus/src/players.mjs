// Simulated players on Colyseus' own client SDK, walking as loadtest/players.py
// walks ours: placed uniformly within --radius of the centre, 1.4 m/s with a
// wandering heading, turning back beyond 400 m of where they started, one move
// every 1/--move-rate seconds carrying the client's clock (sentAt).

import { Callbacks, Client } from "@colyseus/sdk";

import { error } from "./stats.mjs";

const WALKING_SPEED = 1.4; // metres per second
const ROAM_RADIUS = 400.0; // metres around the player's base
const METRES_PER_DEGREE = 111_320.0;
const RADIANS = Math.PI / 180;

export const clockMs = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A small seeded generator (mulberry32): each player walks the same way in every run. */
export function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.uniform = (low, high) => low + (high - low) * next();
  next.gauss = (mu, sigma) =>
    mu + sigma * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return next;
}

/** A spot uniformly spread within `radius` metres of the centre (loadtest/world.py's scatter). */
export function scatter([lng0, lat0], radius, rng) {
  const distance = radius * Math.sqrt(rng());
  const bearing = rng.uniform(0, 2 * Math.PI);
  const lat = lat0 + (distance * Math.cos(bearing)) / METRES_PER_DEGREE;
  const lng = lng0 + (distance * Math.sin(bearing)) / (METRES_PER_DEGREE * Math.cos(lat0 * RADIANS));
  return [lng, lat];
}

export class SimulatedPlayer {
  constructor(index, config, stats) {
    this.index = index;
    this.config = config;
    this.stats = stats;
    this.rng = random(config.seed * 1_000_003 + index);
    [this.lng, this.lat] = scatter(config.centre, config.radius, this.rng);
    this.base = [this.lng, this.lat];
    this.pending = new Map(); // seq → sent at
    this.seq = 0;
  }

  counting() {
    return clockMs() >= this.config.countFrom;
  }

  async run(until) {
    const client = new Client(this.config.url);
    const room = await client.join("world", { lat: this.lat, lng: this.lng });
    const stats = this.stats;
    stats.connected++;
    stats.peak_connected = Math.max(stats.peak_connected, stats.connected);
    this.listen(room);
    try {
      await this.walk(room, until);
    } finally {
      stats.connected--;
      await room.leave().catch(() => {});
    }
  }

  listen(room) {
    const stats = this.stats;
    const events = room.connection.events;
    const decode = events.onmessage;
    events.onmessage = (event) => {
      if (this.counting()) stats.bytes_received += event.data.byteLength ?? event.data.length;
      decode(event);
    };
    room.onMessage("move-ack", (ack) => {
      const sent = this.pending.get(ack.seq);
      this.pending.delete(ack.seq);
      if (sent === undefined || sent < this.config.countFrom) return; // sent during the warm-up
      stats.moves_acked++;
      stats.ack.add(clockMs() - sent);
    });
    room.onMessage("move-rejected", (refusal) => {
      this.pending.delete(refusal.seq);
      if (this.counting()) stats.moves_rejected++;
      this.lng = refusal.position.lng;
      this.lat = refusal.position.lat;
    });
    room.onMessage("player-moved", (moved) => this.heard(moved.sentAt));
    room.onMessage("player-disconnected", () => {});
    room.onMessage("error", (data) => error(stats, `${data.code}: ${data.message}`));
    room.onError((code, message) => error(stats, `room error ${code}: ${message}`));
    if (this.config.mode === "state") {
      // The patches: every change of a heard player's sentAt is one move heard.
      const callbacks = Callbacks.get(room);
      // A player coming into view arrives with its last move's sentAt, which is not news.
      callbacks.onAdd("players", (player) => {
        let last = player.sentAt;
        callbacks.listen(
          player,
          "sentAt",
          (sentAt) => {
            if (sentAt === last) return;
            last = sentAt;
            this.heard(sentAt);
          },
          false,
        );
      });
    }
  }

  heard(sentAt) {
    if (!sentAt || !this.counting()) return;
    this.stats.heard++;
    this.stats.neighbour.add(clockMs() - sentAt);
  }

  async walk(room, until) {
    const interval = 1000 / this.config.moveRate;
    let heading = this.rng.uniform(0, 2 * Math.PI);
    await sleep(this.rng.uniform(0, interval));
    let last = performance.now();
    while (clockMs() < until) {
      const now = performance.now();
      const step = (WALKING_SPEED * (now - last)) / 1000;
      last = now;
      heading += this.rng.gauss(0, 0.4);
      let [lng, lat] = this.step(heading, step);
      if (this.distanceFromBase(lng, lat) > ROAM_RADIUS) {
        heading += Math.PI; // turn back towards the base
        [lng, lat] = this.step(heading, step);
      }
      this.lng = lng;
      this.lat = lat;
      this.seq++;
      const sentAt = clockMs();
      this.pending.set(this.seq, sentAt);
      room.send("player-move", {
        position: { lat, lng },
        direction: ((heading / RADIANS) % 360 + 360) % 360,
        seq: this.seq,
        sentAt,
      });
      if (this.counting()) this.stats.moves_sent++;
      await sleep(interval - (performance.now() - now));
    }
  }

  step(heading, metres) {
    const lat = this.lat + (metres * Math.cos(heading)) / METRES_PER_DEGREE;
    const lng =
      this.lng + (metres * Math.sin(heading)) / (METRES_PER_DEGREE * Math.cos(this.lat * RADIANS));
    return [lng, lat];
  }

  distanceFromBase(lng, lat) {
    const dLat = (lat - this.base[1]) * METRES_PER_DEGREE;
    const dLng = (lng - this.base[0]) * METRES_PER_DEGREE * Math.cos(lat * RADIANS);
    return Math.hypot(dLat, dLng);
  }
}
