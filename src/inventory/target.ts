// The target types live with their rules in src/targets/; this path stays for existing importers.
export * from '../targets/target.js';
