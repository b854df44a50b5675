# long-name: a VM with the longest name CloudStack builds (i-, two 19-digit
# ids, a 63-character host name as suffix with vm.instancename.flag), started
# as the agent starts it. The script leaves it half programmed: its ebtables
# chains exceed ebtables-nft's 28 characters, its IPv6 set name ipset's 31.
agent_start
LONG=i-9223372036854775807-9223372036854775807-hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh
vm $LONG cloudbr0/vnet7/02:00:00:00:00:07
agent_vm_start $LONG 7 vnet7 02:00:00:00:00:07 10.1.0.7 fd00::7 '0;' 'I:tcp;22;22;0.0.0.0/0,::/0,NEXT;'
# A name of 25 characters: the script programs its iptables chains and sets,
# but its ebtables chains reach 30 characters and the jumps into them fail.
vm i-12-3456-web-server-0001 cloudbr0/vnet8/02:00:00:00:00:08
agent_vm_start i-12-3456-web-server-0001 3456 vnet8 02:00:00:00:00:08 10.1.0.8 - '10.1.0.98;' 'I:tcp;80;80;0.0.0.0/0,NEXT;'
