import type { Logger } from 'pino';
import { MessageError, parseNovaMessage, type NovaEvent } from '../amqp/nova-message.js';
import type { Reconciler } from '../core/reconciler.js';
import type { Trigger } from '../core/trigger.js';
import type { NovaSettings } from '../nova/settings.js';
import { checkTarget } from '../targets/announceable.js';
import { floatingInterface, type FloatingInterfaceRule } from '../targets/floating-interface.js';
import { RequestError, parseAnnounceRequest, type AnnounceRequest } from './announce-request.js';
import type { Metrics } from './metrics.js';

export interface BusEventsDeps {
  core: Reconciler;
  settings: () => NovaSettings;
  bindWaitMs: () => number;
  /** The release's floating-IP interface rule, as the last database read showed it. */
  floatingRule: () => FloatingInterfaceRule;
  log: Logger;
  metrics: Metrics;
  rejected: (reason: string, message: string) => void;
  reannounce: (req: AnnounceRequest, trigger: Trigger) => Promise<unknown>;
  /** A network moved to this host (set_network_host and friends): the database knows its gateway. */
  networkChanged: (why: string) => void;
  /** Connected (again): associations made while the queue was gone are only in the database. */
  brokerUp: () => void;
}

/**
 * RabbitMQ as a trigger: nova's messages become changes of the desired state (associate,
 * disassociate, a hint from the shared topic) or forced announcements (reannounce). It never waits
 * for a bind: the reconciler announces an associated address on its rising edge.
 */
export class BusEvents {
  private state: { enabled: boolean; up: boolean; detail: string; connects: number; queue: string | null } = { enabled: false, up: false, detail: 'not started', connects: 0, queue: null };

  constructor(private readonly deps: BusEventsDeps) {}

  connecting(): void {
    this.state = { ...this.state, enabled: true, up: false, detail: 'connecting', queue: null };
  }

  disabled(detail: string): void {
    this.state = { enabled: false, up: false, detail, connects: 0, queue: null };
  }

  /** The connection's state changed; a (re)connect re-reads the database. */
  connection(up: boolean, detail: string, queue: string | null): void {
    // The first failure counts as a change too: a broker that is down from the start is news.
    const changed = up !== this.state.up || this.state.detail === 'connecting';
    this.state = { enabled: true, up, detail, connects: this.state.connects + (up && changed ? 1 : 0), queue };
    this.deps.metrics.rabbitmqUp.set(up ? 1 : 0);
    if (up && changed) {
      this.deps.log.info({ detail }, 'RabbitMQ connected');
      this.deps.brokerUp();
    } else if (!up && changed) this.deps.log.warn({ detail }, 'RabbitMQ unavailable; retrying');
  }

  status(): unknown {
    return { ...this.state };
  }

  /** One message body; malformed ones are counted and logged, never thrown. */
  handle(body: Buffer, routingKey: string): void {
    let event: NovaEvent;
    try {
      event = parseNovaMessage(body).event;
    } catch (err) {
      const reason = err instanceof MessageError ? err.reason : 'internal';
      this.deps.rejected(reason, `AMQP message on ${routingKey} rejected: ${(err as Error).message}`);
      return;
    }
    try {
      this.apply(event, routingKey);
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message, routingKey }, 'handling AMQP message failed');
    }
  }

  private apply(event: NovaEvent, routingKey: string): void {
    const { core, log } = this.deps;
    const settings = this.deps.settings();
    switch (event.type) {
      case 'associate': {
        // From Folsom nova binds on public_interface when it is set, whatever the message names
        // (Newton's _associate_floating_ip carries the row's interface): wait where nova puts it.
        const iface = floatingInterface(settings.publicInterface, event.interface, this.deps.floatingRule());
        const check = checkTarget('floating', event.address, iface);
        if (!check.ok) {
          this.deps.rejected('bad_target', `${event.method} for ${event.address} on ${routingKey}: ${check.reason}`);
          return;
        }
        if (routingKey === settings.networkTopic) {
          // Essex–Folsom send the public call to the shared topic, and any network host may
          // handle it: a hint only. It becomes a target if it gets bound here, else it is not ours.
          const taken = core.hint(check.target, this.deps.bindWaitMs());
          log.info({ method: event.method, address: check.target.address, interface: check.target.interface, via: routingKey }, taken ? 'floating IP associated' : 'floating IP association hint');
          return;
        }
        core.associate(check.target);
        log.info({ method: event.method, address: check.target.address, interface: check.target.interface, named: event.interface }, 'floating IP associated');
        return;
      }
      case 'disassociate':
        core.disassociate(event.address);
        log.info({ method: event.method, address: event.address }, 'floating IP disassociated');
        return;
      case 'network-host':
        this.deps.networkChanged(event.method);
        return;
      case 'reannounce': {
        let req: AnnounceRequest;
        try {
          req = parseAnnounceRequest({
            ...(event.addresses === null ? {} : { addresses: event.addresses }),
            ...(event.kinds === null ? {} : { kinds: event.kinds }),
            reason: event.reason ?? `amqp ${routingKey}`,
          });
        } catch (err) {
          if (!(err instanceof RequestError)) throw err;
          this.deps.rejected('bad_args', `reannounce on ${routingKey} rejected: ${err.message}`);
          return;
        }
        void this.deps.reannounce(req, 'amqp-reannounce').catch((err: Error) => log.error({ err: err.message }, 'AMQP reannounce failed'));
        return;
      }
      case 'ignored':
        return;
    }
  }
}
