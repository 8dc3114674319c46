# The package's flowmeter.log, computed in Zeek script, equals connscope's
# --flowmeter on the same captures (rows joined through conn.log).
# @TEST-REQUIRES: which zeek && connscope --version
# @TEST-EXEC: bash %INPUT

for pcap in tcp_states midstream retransmit udp icmp ipv6 timeout; do
    mkdir -p "zeek-$pcap" "cs-$pcap"
    (cd "zeek-$pcap" && zeek -r "$TRACES/$pcap.pcap" "$PACKAGE" LogAscii::use_json=F) || exit 1
    connscope read -r "$TRACES/$pcap.pcap" -w "cs-$pcap" --format tsv --flowmeter -q || exit 1
    compare-flowmeter "zeek-$pcap/conn.log" "zeek-$pcap/flowmeter.log" \
        "cs-$pcap/conn.log" "cs-$pcap/flowmeter.log" || exit 1
done
