// The game rule the benchmark holds both servers to, with the values of our
// server's settings (mmo/settings/base.py, docs/protocol.md): a move may cover
// at most MAX_SPEED metres per second, saved up for BURST_SECONDS, plus JITTER_M
// of GPS noise; a player hears the players in its 300 m interest cell and the
// eight around it, the nearest VISIBLE_NEAREST of them at full rate.

export const MAX_SPEED = 5.0; // MOVEMENT_MAX_SPEED, metres per second
export const JITTER_M = 5.0; // MOVEMENT_JITTER_M
export const BURST_SECONDS = 10.0; // MOVEMENT_BURST_SECONDS
export const RANGE_M = 600.0; // MOVEMENT_RANGE_M, from the player's anchor
export const CELL_SIZE_M = 300.0; // MOVEMENT_CELL_SIZE_M
export const METRES_PER_DEGREE = 111_320.0;

const A = 6_378_137.0;
const F = 1 / 298.257223563;
const E2 = F * (2 - F);
const RADIANS = Math.PI / 180;

/** Metres between two nearby WGS84 points (the local ellipsoid radii, as mmo/geo.py). */
export function distanceM(lng1, lat1, lng2, lat2) {
  const phi = ((lat1 + lat2) / 2) * RADIANS;
  const dPhi = (lat2 - lat1) * RADIANS;
  const dLambda = ((((lng2 - lng1 + 180) % 360) + 360) % 360 - 180) * RADIANS;
  const sinPhi = Math.sin(phi);
  const w = Math.sqrt(1 - E2 * sinPhi * sinPhi);
  const north = ((A * (1 - E2)) / (w * w * w)) * dPhi;
  const east = (A / w) * Math.cos(phi) * dLambda;
  return Math.hypot(north, east);
}

/** The distance a player may still cover; the same bucket as movement/rules.py. */
export class SpeedAllowance {
  constructor(now) {
    this.metres = JITTER_M;
    this.at = now;
  }

  spend(distance, now) {
    const capacity = MAX_SPEED * BURST_SECONDS + JITTER_M;
    const available = Math.min(capacity, this.metres + Math.max(0, now - this.at) * MAX_SPEED);
    if (distance > available) return false;
    this.metres = available - distance;
    this.at = now;
    return true;
  }
}

const CELL_DEGREES = CELL_SIZE_M / METRES_PER_DEGREE;

/** The interest cell of a point, as a string key (mmo/realtime.py's cell_of). */
export function cellOf(lng, lat) {
  return `${Math.floor(lat / CELL_DEGREES)}:${Math.floor(lng / CELL_DEGREES)}`;
}

/** A cell's key and its eight neighbours' keys. */
export function cellsAround(key) {
  const [row, col] = key.split(":").map(Number);
  const keys = [];
  for (let dRow = -1; dRow <= 1; dRow++) {
    for (let dCol = -1; dCol <= 1; dCol++) keys.push(`${row + dRow}:${col + dCol}`);
  }
  return keys;
}

/** Whether a message's number is one: NaN, Infinity and strings are refused. */
export function finite(value) {
  return typeof value === "number" && Number.isFinite(value);
}
