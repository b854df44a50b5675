# agent-forms: argument forms CloudStack's KVM agent builds that the other
# scenarios lack (LibvirtComputingResource, SecurityGroupRulesCmd,
# SecurityGroupManagerImpl): an empty --privnic (no public NIC found); an
# empty --nicsecips (a NIC flagged as having secondary addresses, none left);
# --rules as the management server merges them (rules ordered by protocol
# name, CIDRs most specific first, IPv4 and IPv6 in one list), with a numeric
# protocol, all, an ICMP type/code, and null/32 (a member of an allowed group
# whose default NIC has no IPv4 address); add_network_rules without --rules
# (no rules at all); a NIC without IPv4 (no --vmip); a plugged second NIC
# (no --isFirstNic) and the --check call of a rules update; a stop whose VM
# libvirt no longer reports (no --vif).
agent_start
sg can_bridge_firewall --privnic ''
vm i-2-7-VM cloudbr0/vnet7/02:00:00:00:00:07
RULES='I:47;0;0;10.1.0.0/24,NEXT;I:all;0;0;10.1.0.8/32,null/32,NEXT;I:icmp;8;0;0.0.0.0/0,NEXT;I:icmp;-1;-1;::/0,NEXT;I:tcp;22;22;10.1.0.5/32,null/32,192.168.0.0/16,0.0.0.0/0,fd00::/64,::/0,NEXT;I:udp;1000;2000;null/32,NEXT;E:6;0;0;null/32,NEXT;E:tcp;80;80;0.0.0.0/0,NEXT;'
agent_vm_start i-2-7-VM 7 vnet7 02:00:00:00:00:07 10.1.0.7 fd00::7 '' "$RULES"
snapshot before-plug
vm_remove i-2-7-VM --keep-ports
vm i-2-7-VM cloudbr0/vnet7/02:00:00:00:00:07 cloudbr0/vnet17/02:00:00:00:01:07
sg default_network_rules --vmname i-2-7-VM --vmid 7 --vmip 10.1.1.7 --vmmac 02:00:00:00:01:07 --vif vnet17 --brname cloudbr0 --nicsecips ''
sg default_network_rules --vmname i-2-7-VM --vmid 7 --vmip 10.1.0.7 --vmip6 fd00::7 --vmmac 02:00:00:00:00:07 --vif vnet7 --brname cloudbr0 --nicsecips '' --isFirstNic --check
sg default_network_rules --vmname i-2-7-VM --vmid 7 --vmip 10.1.1.7 --vmmac 02:00:00:00:01:07 --vif vnet17 --brname cloudbr0 --nicsecips '' --check
agent_add_rules i-2-7-VM 7 vnet7 02:00:00:00:00:07 10.1.0.7 fd00::7 '' "$RULES" 2
vm i-2-8-VM cloudbr0/vnet8/02:00:00:00:00:08
agent_vm_start i-2-8-VM 8 vnet8 02:00:00:00:00:08 10.1.0.8 - '10.1.0.98;' ''
snapshot no-rules
agent_add_rules i-2-8-VM 8 vnet8 02:00:00:00:00:08 10.1.0.8 - '' 'I:tcp;22;22;null/32,10.1.0.7/32,NEXT;' 2
vm i-2-9-VM cloudbr0/vnet9/02:00:00:00:00:09
sg default_network_rules --vmname i-2-9-VM --vmid 9 --vmip6 fd00::9 --vmmac 02:00:00:00:00:09 --vif vnet9 --brname cloudbr0 --nicsecips '0;' --isFirstNic
sg get_rule_logs_for_vms
vm_remove i-2-8-VM
sg destroy_network_rules_for_vm --vmname i-2-8-VM
sg get_rule_logs_for_vms
