// One Colyseus process serving one world room: node src/server.mjs --port 2567 --mode messages
import { parseArgs } from "node:util";

import { matchMaker, Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";

import { MessagesWorld, StateWorld } from "./rooms.mjs";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "2567" },
    mode: { type: "string", default: "messages" }, // messages | state
    "patch-ms": { type: "string", default: "50" }, // state mode: Colyseus' default 50, or 100 (our tick)
    nearest: { type: "string", default: "50" }, // K: players heard at full rate
  },
});
const rooms = { messages: MessagesWorld, state: StateWorld };
if (!rooms[values.mode]) throw new Error(`--mode is messages or state, not ${values.mode}`);

const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define("world", rooms[values.mode], {
  nearest: Number(values.nearest),
  patchMs: Number(values["patch-ms"]),
});
await server.listen(Number(values.port), values.host);
await matchMaker.createRoom("world", {});
console.log(`colyseus ${values.mode} world on ws://${values.host}:${values.port}`);
