// The 50 distinct bench host names (distinct SNI, so certificate minting and caching count).
export const HOSTS = Array.from({ length: 50 }, (_, i) => `h${String(i).padStart(2, '0')}.bench.test`);
