#!/usr/bin/env python3
"""Writes a host file with N dual-stack guests on cloudbr0 (uplink eth0),
vifs vnet0..vnet<N-1>, for the data-path benchmark. The last three are the
VMs that get real ports: vnet<N-3> "peer" (open, the VM-to-VM sender),
vnet<N-2> "tracked" (ingress tcp/udp 5201 and icmp only) and vnet<N-1>
"open" (ingress all, egress open): the last programmed. The others
alternate between open and four tracked rules. Addresses 10.1.0.0/16 and
2001:db8::/64 from guest number + 2; the outside is .255.254 / ::fffe.

usage: make-host.py N > host.json     (N >= 3)
"""
import json, sys

OPEN = "I:all;0;0;0.0.0.0/0,::/0,NEXT;"
FOUR = ("I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;"
        "I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;")
TRACKED = "I:tcp;5201;5201;0.0.0.0/0,::/0,NEXT;I:udp;5201;5201;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;"

def main():
    count = int(sys.argv[1])
    assert count >= 3
    vms = []
    for i in range(count):
        role = {count - 3: OPEN, count - 2: TRACKED, count - 1: OPEN}.get(i, OPEN if i % 2 else FOUR)
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
