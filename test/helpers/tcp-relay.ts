export { TcpRelay } from '../../tools/netns/tcp-relay.js';
