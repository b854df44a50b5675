#!/usr/bin/env python3
"""Writes a host file with N dual-stack guests on cloudbr0 (uplink eth0),
vifs vnet0..vnet<N-1>, for the data-path benchmark. The last three are the
VMs that get real ports: vnet<N-3> "peer" (open, the VM-to-VM sender),
vnet<N-2> "tracked" (ingress tcp/udp 5201 and icmp only) and vnet<N-1>
"open" (ingress all, egress open): the last programmed. The others
alternate between open and four tracked rules. Addresses 10.1.0.0/16 and
2001:db8::/64 from guest number + 2; the outside is .255.254 / ::fffe.

With --peers K the tracked VM allows tcp/udp 5201 from K addresses (the
outside and the peer VM among them: another group's members) instead of
from anywhere; --peers 1 allows them from the whole 10.1.0.0/16.

usage: make-host.py N [--peers K] > host.json     (N >= 3)
"""
import json, sys

OPEN = "I:all;0;0;0.0.0.0/0,::/0,NEXT;"
FOUR = ("I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;"
        "I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;")
TRACKED = "I:tcp;5201;5201;0.0.0.0/0,::/0,NEXT;I:udp;5201;5201;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;"

def peers_rules(count, size):
    """tcp and udp 5201 from `count` addresses, icmp from anywhere."""
    if count == 1:
        cidrs = ["10.1.0.0/16"]
    else:
        peer = size - 3 + 2
        cidrs = ["10.1.255.254/32", f"10.1.{peer >> 8 & 0xff}.{peer & 0xff}/32"]
        cidrs += [f"10.2.{i >> 8 & 0xff}.{i & 0xff}/32" for i in range(count - 2)]
    listed = ",".join(cidrs)
    return f"I:tcp;5201;5201;{listed},NEXT;I:udp;5201;5201;{listed},NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;"

def main():
    count = int(sys.argv[1])
    assert count >= 3
    peers = int(sys.argv[sys.argv.index("--peers") + 1]) if "--peers" in sys.argv else None
    tracked = peers_rules(peers, count) if peers else TRACKED
    vms = []
    for i in range(count):
        role = {count - 3: OPEN, count - 2: tracked, count - 1: OPEN}.get(i, OPEN if i % 2 else FOUR)
        n = i + 2  # no network or broadcast address, no all-zero MAC
        vms.append({
            "name": f"i-2-{i + 10}-VM", "id": i + 10,
            "nics": [{
                "vif": f"vnet{i}", "bridge": "cloudbr0",
                "mac": f"02:00:00:{n >> 16 & 0xff:02x}:{n >> 8 & 0xff:02x}:{n & 0xff:02x}",
                "ipv4": f"10.1.{n >> 8 & 0xff}.{n & 0xff}", "ipv6": f"2001:db8::{n:x}",
            }],
            "rules": role,
        })
    json.dump({"bridges": [{"name": "cloudbr0", "uplink": "eth0"}], "vms": vms}, sys.stdout)

main()
