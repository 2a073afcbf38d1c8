export { TcpRelay } from '../../src/netns/tcp-relay.js';
