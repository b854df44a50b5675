# nic-unplug: the agent's unplug form of destroy_network_rules_for_vm
# (LibvirtUnPlugNicCommandWrapper: --vmname, --vmip when the NIC has IPv4,
# --vmmac, --vif, --nicsecips), after plugging two NICs (no --isFirstNic),
# one dual-stack with a secondary address, one without IPv4 (no --vmip).
# The script removes only the IPv4 side of the first, and takes the second
# (no --vmip) for the whole VM.
agent_start
vm i-2-7-VM cloudbr0/vnet7/02:00:00:00:00:07 cloudbr0/vnet17/02:00:00:00:01:07 cloudbr0/vnet27/02:00:00:00:02:07
agent_vm_start i-2-7-VM 7 vnet7 02:00:00:00:00:07 10.1.0.7 fd00::7 '0;' 'I:tcp;22;22;0.0.0.0/0,::/0,NEXT;'
sg default_network_rules --vmname i-2-7-VM --vmid 7 --vmip 10.1.1.7 --vmip6 fd00::17 --vmmac 02:00:00:00:01:07 --vif vnet17 --brname cloudbr0 --nicsecips '10.1.1.71;'
sg default_network_rules --vmname i-2-7-VM --vmid 7 --vmip6 fd00::27 --vmmac 02:00:00:00:02:07 --vif vnet27 --brname cloudbr0 --nicsecips ''
agent_add_rules i-2-7-VM 7 vnet7 02:00:00:00:00:07 10.1.0.7 fd00::7 '0;' 'I:tcp;22;22;0.0.0.0/0,::/0,NEXT;' 2
snapshot plugged
sg destroy_network_rules_for_vm --vmname i-2-7-VM --vmip 10.1.1.7 --vmmac 02:00:00:00:01:07 --vif vnet17 --nicsecips '10.1.1.71;'
snapshot unplugged-ipv4
sg destroy_network_rules_for_vm --vmname i-2-7-VM --vmmac 02:00:00:00:02:07 --vif vnet27 --nicsecips ''
