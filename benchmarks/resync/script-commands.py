#!/usr/bin/env python3
"""The script's commands that program a host file's VMs one by one, as the
agent would: default_network_rules --isFirstNic then add_network_rules.
vifs vnetN become tapN, as make-state.py names them.

usage: script-commands.py HOST.json
"""
import json, sys

for vm in json.load(open(sys.argv[1]))["vms"]:
    nic = vm["nics"][0]
    common = (f"--vmname {vm['name']} --vmid {vm['id']} --vmip {nic['ipv4']} --vmip6 {nic['ipv6']} --vmmac {nic['mac']} "
              f"--vif {nic['vif'].replace('vnet', 'tap')} --brname {nic['bridge']} --nicsecips {nic['secondaryIps'][0]};")
    print(f"default_network_rules {common} --isFirstNic")
    print(f"add_network_rules {common} --sig 0123456789abcdef --seq 1 --rules {vm['rules']}")
