##! connscope's log schema: the ``ConnScope::*`` notice types and the record
##! types of connscope's flowmeter.log, context.log and score.log, with the
##! field names, order and Zeek types that connscope writes in its
##! ``#fields``/``#types`` headers (checked by connscope's test suite against
##! the headers connscope writes). Log streams for the three logs are created
##! here; ``flowmeter.zeek`` writes flowmeter.log, the other two streams are
##! for scripts that produce or relay those rows.
##!
##! Field definitions: connscope's ``docs/FEATURES.md`` (flowmeter.log),
##! ``docs/CONTEXT.md`` (context.log) and ``README.md`` (score.log, notices).

@load base/frameworks/notice

module ConnScope;

export {
	redef enum Notice::Type += {
		## Fan-out over many hosts or ports from one originator, most of
		## it failed (unanswered or refused connections).
		Scan,
		## Many half-open or rejected connections towards one responder
		## service in a short time.
		Flood,
		## Many short, similar, completed connections from one host to
		## one login service.
		Brute_Force,
		## Regular connections between a pair, to a new and rare
		## destination.
		Beacon,
		## DNS queries whose names carry data (long, high-entropy,
		## mostly distinct names under one domain).
		DNS_Tunnel,
		## Many long, nearly idle HTTP connections from one client to
		## one server.
		Slow_HTTP,
		## A host's connections, peers or bytes in an interval outside
		## its learned band.
		Host_Volume,
		## Several internal hosts contacting the same new external
		## destination within minutes.
		Coordinated,
	};

	redef enum Log::ID += {
		FLOWMETER_LOG,
		CONTEXT_LOG,
		SCORE_LOG
	};

	## Five statistics of a set of values; flowmeter.log writes them as
	## ``NAME.min NAME.max NAME.tot NAME.avg NAME.std`` (zeek-flowmeter's
	## ``statistics_info``). ``std`` is the sample standard deviation.
	type Stats5: record {
		min: double &log;
		max: double &log;
		tot: double &log;
		avg: double &log;
		std: double &log;
	};

	## IP packet lengths of one direction (connscope's addition).
	type PktLen: record {
		min: count &log;
		max: count &log;
		avg: double &log;
		std: double &log;
	};

	## One flowmeter.log row: per-connection flow statistics, keyed by
	## conn.log's ``uid``. The first 81 columns are zeek-flowmeter's;
	## connscope's own columns follow. ``fwd`` = sent by the originator.
	type FlowmeterInfo: record {
		uid: string &log;
		flow_duration: interval &log;
		fwd_pkts_tot: count &log;
		bwd_pkts_tot: count &log;
		fwd_data_pkts_tot: count &log;
		bwd_data_pkts_tot: count &log;
		fwd_pkts_per_sec: double &log;
		bwd_pkts_per_sec: double &log;
		flow_pkts_per_sec: double &log;
		down_up_ratio: double &log;
		fwd_header_size_tot: count &log;
		fwd_header_size_min: count &log;
		fwd_header_size_max: count &log;
		bwd_header_size_tot: count &log;
		bwd_header_size_min: count &log;
		bwd_header_size_max: count &log;
		flow_FIN_flag_count: count &log;
		flow_SYN_flag_count: count &log;
		flow_RST_flag_count: count &log;
		fwd_PSH_flag_count: count &log;
		bwd_PSH_flag_count: count &log;
		flow_ACK_flag_count: count &log;
		fwd_URG_flag_count: count &log;
		bwd_URG_flag_count: count &log;
		flow_CWR_flag_count: count &log;
		flow_ECE_flag_count: count &log;
		fwd_pkts_payload: Stats5 &log;
		bwd_pkts_payload: Stats5 &log;
		flow_pkts_payload: Stats5 &log;
		fwd_iat: Stats5 &log;
		bwd_iat: Stats5 &log;
		flow_iat: Stats5 &log;
		payload_bytes_per_second: double &log;
		fwd_subflow_pkts: double &log;
		bwd_subflow_pkts: double &log;
		fwd_subflow_bytes: double &log;
		bwd_subflow_bytes: double &log;
		fwd_bulk_bytes: double &log;
		bwd_bulk_bytes: double &log;
		fwd_bulk_packets: double &log;
		bwd_bulk_packets: double &log;
		fwd_bulk_rate: double &log;
		bwd_bulk_rate: double &log;
		active: Stats5 &log;
		idle: Stats5 &log;
		fwd_init_window_size: count &log;
		bwd_init_window_size: count &log;
		fwd_last_window_size: count &log;
		bwd_last_window_size: count &log;
		fwd_pkt_len: PktLen &log;
		bwd_pkt_len: PktLen &log;
		tcp_rtt_syn_synack: interval &log &optional;
		tcp_rtt_synack_ack: interval &log &optional;
		fwd_retrans_pkts: count &log;
		bwd_retrans_pkts: count &log;
		fwd_ttl_min: count &log;
		fwd_ttl_max: count &log;
		bwd_ttl_min: count &log;
		bwd_ttl_max: count &log;
	};

	## One context.log row: host and time-window features of a connection
	## (KDD'99 counts and rates over 2 s and over 100 connections,
	## originator fan-out, per-host interval series). Two of connscope's
	## column names are Zeek keywords, so the fields are named
	## ``kdd_count`` and ``series_interval`` here and renamed to ``count``
	## and ``interval`` in the log by :zeek:see:`ConnScope::context_field_names`.
	type ContextInfo: record {
		uid: string &log;
		logged_at: time &log;
		kdd_count: count &log;
		srv_count: count &log;
		serror_rate: double &log;
		srv_serror_rate: double &log;
		rerror_rate: double &log;
		srv_rerror_rate: double &log;
		same_srv_rate: double &log;
		diff_srv_rate: double &log;
		srv_diff_host_rate: double &log;
		dst_host_count: count &log;
		dst_host_srv_count: count &log;
		dst_host_same_srv_rate: double &log;
		dst_host_diff_srv_rate: double &log;
		dst_host_same_src_port_rate: double &log;
		dst_host_srv_diff_host_rate: double &log;
		dst_host_serror_rate: double &log;
		dst_host_srv_serror_rate: double &log;
		dst_host_rerror_rate: double &log;
		dst_host_srv_rerror_rate: double &log;
		src_count: count &log;
		src_distinct_dst_hosts: count &log;
		src_distinct_dst_ports: count &log;
		src_host_count: count &log;
		src_host_distinct_dst_hosts: count &log;
		src_host_distinct_dst_ports: count &log;
		series_interval: time &log;
		src_interval_conns: count &log;
		src_interval_bytes: count &log;
		src_prev_interval_conns: count &log;
		src_prev_interval_bytes: count &log;
	};

	## Renames of :zeek:type:`ConnScope::ContextInfo` fields in context.log
	## (a :zeek:see:`Log::Filter` ``field_name_map``).
	const context_field_names: table[string] of string = {
		["kdd_count"] = "count",
		["series_interval"] = "interval",
	} &redef;

	## One score.log row: every connection-level detector's score for a
	## connection, the combined score, whether it is above the calibrated
	## threshold, and the three features that contributed most.
	type ScoreInfo: record {
		ts: time &log;
		uid: string &log;
		id: conn_id &log;
		proto: transport_proto &log;
		service_class: string &log;
		robust: double &log;
		iforest: double &log;
		ecod: double &log;
		autoencoder: double &log;
		score: double &log;
		anomalous: bool &log;
		top_features: vector of string &log;
		top_values: vector of double &log;
		top_baselines: vector of double &log;
	};

	## Raised for each flowmeter.log row written.
	global log_flowmeter: event(rec: FlowmeterInfo);
}

event zeek_init() &priority=5
	{
	Log::create_stream(FLOWMETER_LOG, [$columns=FlowmeterInfo, $ev=log_flowmeter,
	    $path="flowmeter"]);
	Log::create_stream(CONTEXT_LOG, [$columns=ContextInfo, $path="context"]);
	Log::create_stream(SCORE_LOG, [$columns=ScoreInfo, $path="score"]);

	# context.log's column names "count" and "interval" are Zeek keywords.
	local f = Log::get_filter(CONTEXT_LOG, "default");
	f$field_name_map = context_field_names;
	Log::add_filter(CONTEXT_LOG, f);
	}
