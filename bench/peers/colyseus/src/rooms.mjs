// The world as a Colyseus room, in the two ways Colyseus offers to tell
// clients what changed:
//
// - MessagesWorld: no room state; each accepted move is sent as a message to
//   every player who hears the mover (one client.send per receiver).
// - StateWorld: the players live in the room's Schema state, in a map tagged
//   with .view(); each client has a StateView holding the players it hears, and
//   Colyseus sends each client its filtered patch every patchRate milliseconds.
//
// In both, the mover gets an acknowledgement message at once, and a player
// hears the K nearest players of its cell and the eight around it.

import { Room } from "@colyseus/core";
import { schema, t, StateView } from "@colyseus/schema";

import { InterestGrid, Listener, REFRESH_EVERY_MS } from "./interest.mjs";
import { distanceM, finite, RANGE_M, SpeedAllowance } from "./rules.mjs";

export const Player = schema(
  {
    lat: t.float64(),
    lng: t.float64(),
    direction: t.float32(),
    sentAt: t.float64(), // the mover's clock when it sent its last move, for latency figures
  },
  "Player",
);

export const WorldState = schema({ players: t.map(Player).view() }, "WorldState");

function validPosition(lat, lng) {
  return finite(lat) && finite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180;
}

const seconds = () => performance.now() / 1000;

class World extends Room {
  onCreate(options) {
    this.autoDispose = false; // one world, created when the server starts
    this.grid = new InterestGrid({
      nearest: options.nearest,
      onHear: (listener, heard) => this.onHear(listener, heard),
      onForget: (listener, heard) => this.onForget(listener, heard),
    });
    this.walkers = new Map(); // sessionId → walker
    this.clock.setInterval(() => this.grid.refreshSlice(), REFRESH_EVERY_MS);
  }

  // Where a player joins stands for its own flag: it must stay within RANGE_M of it.
  onJoin(client, options) {
    const { lat, lng } = options ?? {};
    if (!validPosition(lat, lng)) throw new Error("join with a position: {lat, lng}");
    const walker = new Listener(client.sessionId, lng, lat);
    walker.client = client;
    walker.anchor = { lat, lng };
    walker.allowance = new SpeedAllowance(seconds());
    walker.direction = 0;
    this.walkers.set(client.sessionId, walker);
    this.joined(walker);
    this.grid.add(walker);
  }

  onLeave(client) {
    const walker = this.walkers.get(client.sessionId);
    if (!walker) return;
    this.walkers.delete(client.sessionId);
    const listeners = [...walker.heardBy];
    this.grid.remove(walker);
    this.left(walker, listeners);
  }

  messages = {
    "player-move": (client, move) => {
      const walker = this.walkers.get(client.sessionId);
      const position = move?.position;
      if (!walker || !validPosition(position?.lat, position?.lng)) {
        client.send("error", { code: "bad_move", message: "position needs finite lat and lng" });
        return;
      }
      const { lat, lng } = position;
      const refusal =
        distanceM(walker.anchor.lng, walker.anchor.lat, lng, lat) > RANGE_M
          ? "out_of_range"
          : !walker.allowance.spend(distanceM(walker.lng, walker.lat, lng, lat), seconds())
            ? "too_fast"
            : null;
      if (refusal) {
        client.send("move-rejected", {
          reason: refusal,
          position: { lat: walker.lat, lng: walker.lng },
          seq: move.seq,
        });
        return;
      }
      this.grid.moveTo(walker, lng, lat);
      walker.direction = finite(move.direction) ? ((move.direction % 360) + 360) % 360 : walker.direction;
      const now = Date.now();
      client.send("move-ack", { position: { lat, lng }, seq: move.seq, timestamp: now });
      this.moved(walker, finite(move.sentAt) ? move.sentAt : 0, now);
    },
  };

  joined() {}
  left() {}
  onHear() {}
  onForget() {}
}

export class MessagesWorld extends World {
  onCreate(options) {
    super.onCreate(options);
    this.patchRate = null; // nothing in the state to patch
  }

  moved(walker, sentAt, now) {
    const frame = {
      playerId: walker.id,
      position: { lat: walker.lat, lng: walker.lng },
      direction: walker.direction,
      timestamp: now,
      sentAt,
    };
    // Those who chose the mover among their nearest, while it stays around them.
    for (const listener of walker.heardBy) {
      if (listener.near(walker)) listener.client.send("player-moved", frame);
    }
  }

  left(walker, listeners) {
    for (const listener of listeners) {
      listener.client.send("player-disconnected", { playerId: walker.id });
    }
  }
}

export class StateWorld extends World {
  state = new WorldState();

  onCreate(options) {
    super.onCreate(options);
    this.patchRate = options.patchMs;
  }

  onJoin(client, options) {
    client.view = new StateView();
    super.onJoin(client, options);
  }

  joined(walker) {
    walker.schema = new Player({ lat: walker.lat, lng: walker.lng, direction: 0, sentAt: 0 });
    this.state.players.set(walker.id, walker.schema);
  }

  left(walker) {
    // Gone from the map, gone from every view that held it.
    this.state.players.delete(walker.id);
    walker.client.view?.dispose?.();
  }

  onHear(listener, heard) {
    listener.client.view.add(heard.schema);
  }

  onForget(listener, heard) {
    listener.client.view.remove(heard.schema);
  }

  moved(walker, sentAt) {
    walker.schema.lat = walker.lat;
    walker.schema.lng = walker.lng;
    walker.schema.direction = walker.direction;
    walker.schema.sentAt = sentAt;
  }
}
