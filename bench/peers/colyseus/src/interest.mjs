// Who hears whom: the players of each 300 m cell, and for each player the K
// nearest players in its own cell and the eight around it (the visibility
// budget). The nearest sets are refreshed a slice at a time, so that a crowd's
// quadratic search is spread over the second instead of stalling the room.

import { cellOf, METRES_PER_DEGREE } from "./rules.mjs";

const REFRESH_EVERY_MS = 100;
const REFRESH_ROUNDS = 10; // every player's nearest set is recomputed once a second

export class Listener {
  constructor(id, lng, lat) {
    this.id = id;
    this.lng = lng;
    this.lat = lat;
    this.cell = cellOf(lng, lat);
    [this.row, this.col] = this.cell.split(":").map(Number);
    this.hears = new Set(); // the players this one hears
    this.heardBy = new Set(); // the players who hear this one
  }

  /** Whether `other` stands in this player's cell or one of the eight around it. */
  near(other) {
    return Math.abs(this.row - other.row) <= 1 && Math.abs(this.col - other.col) <= 1;
  }
}

export class InterestGrid {
  /**
   * @param nearest how many players each player hears at most (K)
   * @param onHear (listener, heard) when `listener` starts hearing `heard`
   * @param onForget (listener, heard) when it stops
   */
  constructor({ nearest, onHear = () => {}, onForget = () => {} }) {
    this.nearest = nearest;
    this.onHear = onHear;
    this.onForget = onForget;
    this.cells = new Map(); // cell key → Set of listeners
    this.players = []; // refresh order
    this.round = 0;
  }

  add(player) {
    this.#enter(player);
    this.players.push(player);
    this.refresh(player);
  }

  remove(player) {
    this.#leave(player);
    const index = this.players.indexOf(player);
    if (index >= 0) {
      this.players[index] = this.players[this.players.length - 1];
      this.players.pop();
    }
    for (const heard of player.hears) heard.heardBy.delete(player);
    for (const listener of player.heardBy) listener.hears.delete(player);
    player.hears.clear();
    player.heardBy.clear();
  }

  moveTo(player, lng, lat) {
    player.lng = lng;
    player.lat = lat;
    const cell = cellOf(lng, lat);
    if (cell !== player.cell) {
      this.#leave(player);
      player.cell = cell;
      [player.row, player.col] = cell.split(":").map(Number);
      this.#enter(player);
    }
  }

  /** The room's clock calls this every REFRESH_EVERY_MS. */
  refreshSlice() {
    const round = this.round++ % REFRESH_ROUNDS;
    for (let i = round; i < this.players.length; i += REFRESH_ROUNDS) this.refresh(this.players[i]);
  }

  /** Recompute the K nearest players `player` hears. */
  refresh(player) {
    const candidates = [];
    for (let dRow = -1; dRow <= 1; dRow++) {
      for (let dCol = -1; dCol <= 1; dCol++) {
        const cell = this.cells.get(`${player.row + dRow}:${player.col + dCol}`);
        if (cell) for (const other of cell) if (other !== player) candidates.push(other);
      }
    }
    let chosen = candidates;
    if (candidates.length > this.nearest) chosen = this.#nearestOf(player, candidates);
    const next = new Set(chosen);
    for (const heard of player.hears) {
      if (!next.has(heard)) {
        player.hears.delete(heard);
        heard.heardBy.delete(player);
        this.onForget(player, heard);
      }
    }
    for (const heard of next) {
      if (!player.hears.has(heard)) {
        player.hears.add(heard);
        heard.heardBy.add(player);
        this.onHear(player, heard);
      }
    }
  }

  /** The K candidates nearest to `player`: a typed-array sort finds the K-th distance. */
  #nearestOf(player, candidates) {
    // Ranking only: squared metres on the local plane, which orders as distanceM does.
    const east = METRES_PER_DEGREE * Math.cos((player.lat * Math.PI) / 180);
    const squared = new Float64Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const dx = (candidates[i].lng - player.lng) * east;
      const dy = (candidates[i].lat - player.lat) * METRES_PER_DEGREE;
      squared[i] = dx * dx + dy * dy;
    }
    const limit = squared.slice().sort()[this.nearest - 1];
    const chosen = [];
    for (let i = 0; i < candidates.length && chosen.length < this.nearest; i++) {
      if (squared[i] < limit) chosen.push(candidates[i]);
    }
    for (let i = 0; i < candidates.length && chosen.length < this.nearest; i++) {
      if (squared[i] === limit) chosen.push(candidates[i]);
    }
    return chosen;
  }

  #enter(player) {
    let cell = this.cells.get(player.cell);
    if (!cell) this.cells.set(player.cell, (cell = new Set()));
    cell.add(player);
  }

  #leave(player) {
    const cell = this.cells.get(player.cell);
    cell.delete(player);
    if (cell.size === 0) this.cells.delete(player.cell);
  }
}

export { REFRESH_EVERY_MS };
