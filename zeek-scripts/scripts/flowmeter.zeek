##! Per-connection flow statistics computed in Zeek script, for sites that
##! run Zeek without connscope: one flowmeter.log row per conn.log ``uid``,
##! with connscope's flowmeter.log columns (:zeek:type:`ConnScope::FlowmeterInfo`)
##! and connscope's definitions (``docs/FEATURES.md``): ``fwd`` is the
##! originator (swapped when Zeek flips the roles), lengths come from the IP
##! and transport headers, times are seconds, ``std`` is the sample standard
##! deviation, subflows are cut at gaps > 1 s, bulk transfers are runs of at
##! least 5 payload packets of one direction with gaps < 1 s, active/idle
##! periods are cut at gaps > 5 s.
##!
##! Differences from connscope: Zeek raises :zeek:see:`new_packet` for every
##! packet of a connection, including packets whose checksum Zeek then
##! rejects (connscope counts only the packets conn.log counts); and IPv4
##! fragments are seen as Zeek delivers them. Cost: this runs script code for
##! every packet (zeek-flowmeter measured a 5x slowdown of Zeek); set
##! :zeek:see:`ConnScope::flowmeter_enabled` to F to keep the types without
##! the work, or run connscope itself with ``--flowmeter``.

@load ./main

module ConnScope;

export {
	## Compute and write flowmeter.log.
	option flowmeter_enabled = T;

	## Flow gap that starts a new subflow.
	const subflow_max_iat = 1sec &redef;
	## A bulk transfer has at least this many payload packets.
	const bulk_min_length = 5 &redef;
	## A gap of at least this much ends a bulk candidate.
	const bulk_timeout = 1sec &redef;
	## A flow gap above this separates active periods (and is idle time).
	const active_timeout = 5sec &redef;
}

## Running count, sum, mean, M2 (Welford), min and max of a series.
type Acc: record {
	n: count &default=0;
	tot: double &default=0.0;
	mean: double &default=0.0;
	m2: double &default=0.0;
	min: double &default=0.0;
	max: double &default=0.0;
};

## What one direction of a connection has sent so far.
type DirState: record {
	pkts: count &default=0;
	data_pkts: count &default=0;
	payload_bytes: count &default=0;
	hdr_tot: count &default=0;
	hdr_min: count &default=0;
	hdr_max: count &default=0;
	psh: count &default=0;
	urg: count &default=0;
	payload: Acc;
	iat: Acc;
	pkt_len: Acc;
	last_ts: time &optional;
	init_win: count &default=0;
	last_win: count &default=0;
	retrans: count &default=0;
	seq_ref: count &optional;
	ttl_min: count &default=0;
	ttl_max: count &default=0;
	bulks: count &default=0;
	bulk_pkts: count &default=0;
	bulk_bytes: count &default=0;
	bulk_dur: double &default=0.0;
};

## A connection's flow statistics state.
type FlowState: record {
	orig: DirState;
	resp: DirState;
	flow_payload: Acc;
	flow_iat: Acc;
	last_ts: time &optional;
	fin: count &default=0;
	syn: count &default=0;
	rst: count &default=0;
	ack: count &default=0;
	cwr: count &default=0;
	ece: count &default=0;
	subflows: count &default=0;
	active: Acc;
	idle: Acc;
	piece_start: time &optional;
	piece_pkts: count &default=0;
	# The open bulk candidate.
	run_is_orig: bool &default=T;
	run_pkts: count &default=0;
	run_bytes: count &default=0;
	run_dur: double &default=0.0;
	run_last: time &optional;
	# Handshake times (directions as is_orig, swapped on a flip).
	syn_ts: time &optional;
	syn_is_orig: bool &default=T;
	synack_seen: bool &default=F;
	synack_is_orig: bool &default=F;
	synack_ts: time &optional;
	rtt_syn_synack: interval &optional;
	rtt_synack_ack: interval &optional;
};

redef record connection += {
	connscope_flow: FlowState &optional;
};

function new_dir(): DirState
	{
	return DirState($payload=Acc(), $iat=Acc(), $pkt_len=Acc());
	}

function new_flow(): FlowState
	{
	return FlowState($orig=new_dir(), $resp=new_dir(), $flow_payload=Acc(),
	    $flow_iat=Acc(), $active=Acc(), $idle=Acc());
	}

function acc_add(a: Acc, x: double)
	{
	++a$n;
	if ( a$n == 1 )
		{
		a$min = x;
		a$max = x;
		}
	else
		{
		if ( x < a$min )
			a$min = x;
		if ( x > a$max )
			a$max = x;
		}
	a$tot += x;
	local d = x - a$mean;
	a$mean += d / a$n;
	a$m2 += d * ( x - a$mean );
	}

function acc_stats(a: Acc): Stats5
	{
	local sd = 0.0;
	if ( a$n > 1 )
		sd = sqrt(a$m2 / ( a$n - 1 ));
	return Stats5($min=a$min, $max=a$max, $tot=a$tot, $avg=( a$n > 0 ? a$mean :
	    0.0 ), $std=sd);
	}

function pkt_len_stats(a: Acc): PktLen
	{
	local sd = 0.0;
	if ( a$n > 1 )
		sd = sqrt(a$m2 / ( a$n - 1 ));
	return PktLen($min=double_to_count(a$min), $max=double_to_count(a$max),
	    $avg=( a$n > 0 ? a$mean : 0.0 ), $std=sd);
	}

## Seconds from ``a`` to ``b``; 0 if time went backwards.
function gap_secs(a: time, b: time): double
	{
	local g = interval_to_double(b - a);
	return g > 0.0 ? g : 0.0;
	}

## Length of the IPv6 extension headers (RFC 8200 length rules).
function ip6_ext_len(h: ip6_hdr): count
	{
	local n = 0;
	for ( i in h$exts )
		{
		local e = h$exts[i];
		if ( e?$hopopts )
			n += ( e$hopopts$len + 1 ) * 8;
		else if ( e?$dstopts )
			n += ( e$dstopts$len + 1 ) * 8;
		else if ( e?$routing )
			n += ( e$routing$len + 1 ) * 8;
		else if ( e?$fragment )
			n += 8;
		else if ( e?$ah )
			n += ( e$ah$len + 2 ) * 4;
		else if ( e?$mobility )
			n += ( e$mobility$len + 1 ) * 8;
		}
	return n;
	}

## Closes the open bulk candidate; counts it when long enough.
function close_run(f: FlowState)
	{
	if ( f$run_pkts >= bulk_min_length )
		{
		local d = f$run_is_orig ? f$orig : f$resp;
		++d$bulks;
		d$bulk_pkts += f$run_pkts;
		d$bulk_bytes += f$run_bytes;
		d$bulk_dur += f$run_dur;
		}
	f$run_pkts = 0;
	f$run_bytes = 0;
	f$run_dur = 0.0;
	}

## Closes the open active period (a piece of at least two packets).
function close_piece(f: FlowState)
	{
	if ( f$piece_pkts >= 2 && f?$piece_start && f?$last_ts )
		acc_add(f$active, gap_secs(f$piece_start, f$last_ts));
	f$piece_pkts = 0;
	}

event new_packet(c: connection, p: pkt_hdr)
	{
	if ( ! flowmeter_enabled )
		return;
	if ( ! p?$ip && ! p?$ip6 )
		return;

	if ( ! c?$connscope_flow )
		c$connscope_flow = new_flow();
	local f = c$connscope_flow;
	local t = network_time();

	local src: addr;
	local ip_len = 0;
	local ip_hdr = 0;
	local ttl = 0;
	if ( p?$ip )
		{
		src = p$ip$src;
		ip_len = p$ip$len;
		ip_hdr = p$ip$hl;
		ttl = p$ip$ttl;
		}
	else
		{
		src = p$ip6$src;
		ip_len = 40 + p$ip6$len;
		ip_hdr = 40 + ip6_ext_len(p$ip6);
		ttl = p$ip6$hlim;
		}

	local l4_hdr = 0;
	local is_orig = src == c$id$orig_h;
	if ( p?$tcp )
		{
		l4_hdr = p$tcp$hl;
		if ( c$id$orig_h == c$id$resp_h )
			is_orig = p$tcp$sport == c$id$orig_p;
		}
	else if ( p?$udp )
		{
		l4_hdr = 8;
		if ( c$id$orig_h == c$id$resp_h )
			is_orig = p$udp$sport == c$id$orig_p;
		}
	else if ( p?$icmp )
		l4_hdr = 8;

	local payload = 0;
	if ( ip_len > ip_hdr + l4_hdr )
		payload = ip_len - ip_hdr - l4_hdr;

	local d = is_orig ? f$orig : f$resp;

	# Per direction.
	++d$pkts;
	if ( payload > 0 )
		++d$data_pkts;
	d$payload_bytes += payload;
	if ( d$pkts == 1 || l4_hdr < d$hdr_min )
		d$hdr_min = l4_hdr;
	if ( l4_hdr > d$hdr_max )
		d$hdr_max = l4_hdr;
	d$hdr_tot += l4_hdr;
	acc_add(d$payload, payload + 0.0);
	acc_add(d$pkt_len, ip_len + 0.0);
	if ( d?$last_ts )
		acc_add(d$iat, gap_secs(d$last_ts, t));
	d$last_ts = t;
	if ( d$pkts == 1 || ttl < d$ttl_min )
		d$ttl_min = ttl;
	if ( ttl > d$ttl_max )
		d$ttl_max = ttl;

	# Whole flow: payload, gaps, subflows, active and idle periods.
	acc_add(f$flow_payload, payload + 0.0);
	if ( f?$last_ts )
		{
		local g = gap_secs(f$last_ts, t);
		acc_add(f$flow_iat, g);
		if ( g > interval_to_double(subflow_max_iat) )
			++f$subflows;
		if ( g > interval_to_double(active_timeout) )
			{
			close_piece(f);
			acc_add(f$idle, g);
			f$piece_start = t;
			}
		}
	else
		{
		f$subflows = 1;
		f$piece_start = t;
		}
	++f$piece_pkts;
	f$last_ts = t;

	# Bulk candidates: runs of payload packets of one direction.
	if ( payload > 0 )
		{
		if ( f$run_pkts > 0
		    && f$run_is_orig == is_orig
		    && f?$run_last
		    && gap_secs(f$run_last, t) < interval_to_double(bulk_timeout) )
			{
			++f$run_pkts;
			f$run_bytes += payload;
			f$run_dur += gap_secs(f$run_last, t);
			f$run_last = t;
			}
		else
			{
			close_run(f);
			f$run_is_orig = is_orig;
			f$run_pkts = 1;
			f$run_bytes = payload;
			f$run_dur = 0.0;
			f$run_last = t;
			}
		}

	if ( ! p?$tcp )
		return;

	# TCP: flags, windows, retransmissions, handshake times.
	local fl = p$tcp$flags;
	local is_syn = ( fl & 2 ) != 0;
	local is_ack = ( fl & 16 ) != 0;
	local is_rst = ( fl & 4 ) != 0;
	if ( ( fl & 1 ) != 0 )
		++f$fin;
	if ( is_syn )
		++f$syn;
	if ( is_rst )
		++f$rst;
	if ( ( fl & 8 ) != 0 )
		++d$psh;
	if ( is_ack )
		++f$ack;
	if ( ( fl & 32 ) != 0 )
		++d$urg;
	if ( ( fl & 64 ) != 0 )
		++f$ece;
	if ( ( fl & 128 ) != 0 )
		++f$cwr;

	if ( d$pkts == 1 )
		d$init_win = p$tcp$win;
	d$last_win = p$tcp$win;

	if ( ! is_rst )
		{
		local seq_end = ( p$tcp$seq + payload + ( is_syn ? 1 : 0 ) + ( ( fl & 1 ) != 0 ? 1 :
		    0 ) ) % 4294967296;
		if ( ! d?$seq_ref )
			d$seq_ref = seq_end;
		else
			{
			local ahead = ( seq_end + 4294967296 - d$seq_ref ) % 4294967296;
			local beyond = ahead != 0 && ahead < 2147483648;
			if ( beyond )
				d$seq_ref = seq_end;
			else if ( payload > 0 )
				++d$retrans;
			}

		if ( is_syn && ! is_ack && ! f$synack_seen )
			{
			f$syn_ts = t;
			f$syn_is_orig = is_orig;
			}
		else if ( is_syn && is_ack )
			{
			if ( ! f$synack_seen )
				{
				f$synack_seen = T;
				f$synack_is_orig = is_orig;
				if ( f?$syn_ts && f$syn_is_orig != is_orig )
					f$rtt_syn_synack = t - f$syn_ts;
				}
			if ( is_orig == f$synack_is_orig && ! f?$rtt_synack_ack )
				f$synack_ts = t;
			}
		else if ( is_ack
		    && f$synack_seen
		    && is_orig != f$synack_is_orig
		    && ! f?$rtt_synack_ack
		    && f?$synack_ts )
			f$rtt_synack_ack = t - f$synack_ts;
		}
	}

event connection_flipped(c: connection)
	{
	if ( ! c?$connscope_flow )
		return;
	local f = c$connscope_flow;
	local o = f$orig;
	f$orig = f$resp;
	f$resp = o;
	f$run_is_orig = ! f$run_is_orig;
	f$syn_is_orig = ! f$syn_is_orig;
	f$synack_is_orig = ! f$synack_is_orig;
	}

## Per second over the flow's duration; 0 when the duration is 0.
function per_sec(x: double, dur: double): double
	{
	return dur > 0.0 ? x / dur : 0.0;
	}

function div0(x: double, y: double): double
	{
	return y > 0.0 ? x / y : 0.0;
	}

## The flowmeter.log row of a connection.
function flowmeter_info(c: connection): FlowmeterInfo
	{
	local f = c?$connscope_flow ? c$connscope_flow : new_flow();
	close_run(f);
	close_piece(f);
	local o = f$orig;
	local r = f$resp;
	local dur = interval_to_double(c$duration);
	local subflows = f$subflows + 0.0;
	local info = FlowmeterInfo($uid=c$uid, $flow_duration=c$duration,
	    $fwd_pkts_tot=o$pkts, $bwd_pkts_tot=r$pkts,
	    $fwd_data_pkts_tot=o$data_pkts, $bwd_data_pkts_tot=r$data_pkts,
	    $fwd_pkts_per_sec=per_sec(o$pkts + 0.0, dur + 0.0),
	    $bwd_pkts_per_sec=per_sec(r$pkts + 0.0, dur + 0.0),
	    $flow_pkts_per_sec=per_sec(o$pkts + r$pkts + 0.0, dur + 0.0),
	    $down_up_ratio=div0(r$pkts + 0.0, o$pkts + 0.0),
	    $fwd_header_size_tot=o$hdr_tot, $fwd_header_size_min=o$hdr_min,
	    $fwd_header_size_max=o$hdr_max, $bwd_header_size_tot=r$hdr_tot,
	    $bwd_header_size_min=r$hdr_min, $bwd_header_size_max=r$hdr_max,
	    $flow_FIN_flag_count=f$fin, $flow_SYN_flag_count=f$syn,
	    $flow_RST_flag_count=f$rst, $fwd_PSH_flag_count=o$psh,
	    $bwd_PSH_flag_count=r$psh, $flow_ACK_flag_count=f$ack,
	    $fwd_URG_flag_count=o$urg, $bwd_URG_flag_count=r$urg,
	    $flow_CWR_flag_count=f$cwr, $flow_ECE_flag_count=f$ece,
	    $fwd_pkts_payload=acc_stats(o$payload), $bwd_pkts_payload=acc_stats(
	    r$payload), $flow_pkts_payload=acc_stats(f$flow_payload),
	    $fwd_iat=acc_stats(o$iat), $bwd_iat=acc_stats(r$iat),
	    $flow_iat=acc_stats(f$flow_iat), $payload_bytes_per_second=per_sec(
	    f$flow_payload$tot + 0.0, dur + 0.0), $fwd_subflow_pkts=div0(o$pkts +
	    0.0, subflows + 0.0), $bwd_subflow_pkts=div0(r$pkts + 0.0, subflows +
	    0.0), $fwd_subflow_bytes=div0(o$payload_bytes + 0.0, subflows +
	    0.0), $bwd_subflow_bytes=div0(r$payload_bytes + 0.0, subflows +
	    0.0), $fwd_bulk_bytes=div0(o$bulk_bytes + 0.0, o$bulks + 0.0),
	    $bwd_bulk_bytes=div0(r$bulk_bytes + 0.0, r$bulks + 0.0),
	    $fwd_bulk_packets=div0(o$bulk_pkts + 0.0, o$bulks + 0.0),
	    $bwd_bulk_packets=div0(r$bulk_pkts + 0.0, r$bulks + 0.0),
	    $fwd_bulk_rate=div0(o$bulk_bytes + 0.0, o$bulk_dur + 0.0),
	    $bwd_bulk_rate=div0(r$bulk_bytes + 0.0, r$bulk_dur + 0.0),
	    $active=acc_stats(f$active), $idle=acc_stats(f$idle),
	    $fwd_init_window_size=o$init_win, $bwd_init_window_size=r$init_win,
	    $fwd_last_window_size=o$last_win, $bwd_last_window_size=r$last_win,
	    $fwd_pkt_len=pkt_len_stats(o$pkt_len), $bwd_pkt_len=pkt_len_stats(
	    r$pkt_len), $fwd_retrans_pkts=o$retrans,
	    $bwd_retrans_pkts=r$retrans, $fwd_ttl_min=o$ttl_min,
	    $fwd_ttl_max=o$ttl_max, $bwd_ttl_min=r$ttl_min,
	    $bwd_ttl_max=r$ttl_max);
	if ( f?$rtt_syn_synack )
		info$tcp_rtt_syn_synack = f$rtt_syn_synack;
	if ( f?$rtt_synack_ack )
		info$tcp_rtt_synack_ack = f$rtt_synack_ack;
	return info;
	}

event connection_state_remove(c: connection)
	{
	if ( ! flowmeter_enabled )
		return;
	Log::write(FLOWMETER_LOG, flowmeter_info(c));
	}
