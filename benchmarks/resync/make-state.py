#!/usr/bin/env python3
"""Turns a host file (make-host.py) into what the agent commands would have
recorded: a state directory (one file per VM with its bridges, the agent's
annotations, and bridges.json) and a libvirt test-driver domains.xml running
every VM. vifs become tapN: libvirt reserves vnetN and its test driver
renames such devices.

usage: make-state.py HOST.json STATE_DIR DOMAINS.xml [LAYOUT]
"""
import json, os, sys

def main():
    host = json.load(open(sys.argv[1]))
    state, domains_path = sys.argv[2], sys.argv[3]
    layout = sys.argv[4] if len(sys.argv) > 4 else "notrack"
    os.makedirs(state, exist_ok=True)
    bridges = {b["name"]: b for b in host["bridges"]}
    domains = []
    for number, vm in enumerate(host["vms"]):
        for nic in vm["nics"]:
            nic["vif"] = nic["vif"].replace("vnet", "tap")
        own = [bridges[n] for n in sorted({nic["bridge"] for nic in vm["nics"]})]
        record = {"bridges": own, "vms": [vm], "agent": {"layout": layout}}
        with open(os.path.join(state, vm["name"] + ".json"), "w") as out:
            json.dump(record, out)
        interfaces = "".join(
            f"<interface type='bridge'><mac address='{nic['mac']}'/><source bridge='{nic['bridge']}'/>"
            f"<target dev='{nic['vif']}'/></interface>" for nic in vm["nics"])
        domains.append(
            f"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>{vm['name']}</name>"
            f"<uuid>6f1d3c52-4a59-4d4f-9d1c-{number + 1:012d}</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu>"
            f"<os><type arch='x86_64'>hvm</type></os><devices>{interfaces}</devices><test:runstate>1</test:runstate></domain>")
    with open(os.path.join(state, "bridges.json"), "w") as out:
        json.dump({"bridges": host["bridges"], "vms": []}, out)
    with open(domains_path, "w") as out:
        out.write("<node>\n" + "\n".join(domains) + "\n</node>\n")

main()
