// Blocking sleep for cleanup code that must run synchronously (process
// 'exit' handlers cannot await).
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms) {
  Atomics.wait(cell, 0, 0, ms);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
