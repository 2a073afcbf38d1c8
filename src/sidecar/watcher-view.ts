import type { AddressWatcher } from '../link/address-watcher.js';
import type { ObservedLinks } from '../core/ports.js';

/** The netlink watcher as the core's observed state. */
export function watcherView(w: AddressWatcher): ObservedLinks {
  return {
    drain: () => void w.drain(),
    // The core checks each address with addressOn(); it needs only the link's header.
    link: (ifname) => w.header(ifname),
    addressOn: (ifname, address) => w.addressOn(ifname, address),
    interfacesHolding: (address) => w.interfacesHolding(address),
    version: () => w.version(),
  };
}
