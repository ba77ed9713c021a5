// Used by the scale-out integration test: connects the real socket.io-client
// to one api process, joins a video's room and exits 0 once that video's
// `video-status` event with the wanted status arrives (1 on timeout).
// It prints "joined" when the join was acknowledged, so the caller knows the
// socket listens before it triggers the change through another process, and
// then each event it sees, one JSON line each.
//
//   node wait-for-status.mjs http://127.0.0.1:PORT VIDEO_ID READY [timeout_ms]
import { io } from "socket.io-client";

const [url, videoId, wanted, timeoutArg] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg || 240000);
const socket = io(url, { transports: ["websocket"], reconnection: true });
const timer = setTimeout(() => {
  console.log(`timeout: no ${wanted} for ${videoId} within ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs);

socket.on("connect", () => {
  socket.emit("join-video", videoId, (ack) => {
    if (ack && ack.ok === false) {
      console.log(`join refused: ${JSON.stringify(ack)}`);
      process.exit(1);
    }
    console.log("joined");
  });
});
for (const name of ["video-status", "processing-progress"]) {
  socket.on(name, (payload) => {
    console.log(JSON.stringify({ event: name, ...payload }));
    if (name === "video-status" && payload.status === wanted) {
      clearTimeout(timer);
      socket.close();
      process.exit(0);
    }
  });
}
