#!/usr/bin/env python3
"""Writes a host file with N dual-stack guests (one NIC, one secondary IPv4,
four ingress rules each) over two bridges: the shape the render benchmark uses.

usage: make-host.py N [--change K] [--bridges B] > host.json
  --change K   give guest K a different rule set (for the one-VM-change case)
  --bridges B  spread the guests over B bridges cloudbr0.. (default 2)
"""
import json, sys

def main():
    count = int(sys.argv[1])
    change = int(sys.argv[sys.argv.index("--change") + 1]) if "--change" in sys.argv else None
    bridges = int(sys.argv[sys.argv.index("--bridges") + 1]) if "--bridges" in sys.argv else 2
    rules = ("I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;"
             "I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;")
    changed = "I:tcp;22;22;192.0.2.0/24,NEXT;I:tcp;8080;8080;0.0.0.0/0,::/0,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;"
    vms = []
    for i in range(count):
        vms.append({
            "name": f"i-2-{i + 10}-VM", "id": i + 10,
            "nics": [{
                "vif": f"vnet{i}", "bridge": f"cloudbr{i % bridges}",
                "mac": f"02:00:00:{i >> 16 & 0xff:02x}:{i >> 8 & 0xff:02x}:{i & 0xff:02x}",
                "ipv4": f"10.1.{i >> 8 & 0xff}.{i & 0xff}", "ipv6": f"2001:db8::{i:x}",
                "secondaryIps": [f"10.2.{i >> 8 & 0xff}.{i & 0xff}"],
            }],
            "rules": changed if i == change else rules,
        })
    json.dump({"bridges": [{"name": f"cloudbr{b}", "uplink": f"eth{b}"} for b in range(bridges)],
               "vms": vms}, sys.stdout)

main()
