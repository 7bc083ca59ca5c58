// Preloaded into the benchmark's operator process (node --expose-gc --import): SIGUSR2 runs a
// full garbage collection, so that heap figures taken right after are live data, not garbage.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
});
