// Node-only entry (`@cohort/transport/nats`): the NATS JetStream transport, kept apart so the main entry stays browser-safe.

export { hasNatsServer, type NatsServerProcess, startNatsServer } from './nats-server';
export {
  createNatsTaskSource,
  NatsTaskSource,
  type NatsTaskSourceOptions,
  type NatsTaskSourceStatistics,
  TransportStartError,
} from './nats-task-source';
export { ensureNatsTopology, type NatsTopology, natsTopology } from './nats-topology';
export {
  createNatsTransport,
  NatsTransport,
  type NatsTransportOptions,
  type PolicyAnnouncement,
} from './nats-transport';
