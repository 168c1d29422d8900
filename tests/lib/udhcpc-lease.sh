#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# busybox udhcpc's script (-s): configure the lease on the interface and
# write the address to $LEASE_FILE, for the tests that lease by DHCP.
case $1 in
bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	echo "$ip" >"$LEASE_FILE"
	;;
esac
exit 0
