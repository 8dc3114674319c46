##! Raises the rows of connscope's notice.log as Zeek notices, so that Zeek's
##! notice policy (suppression, e-mail, actions, Notice::policy hooks) applies
##! to connscope's findings. Set :zeek:see:`ConnScope::notice_log` to the path
##! of connscope's notice.log (TSV, ``--format tsv``; or JSON with
##! :zeek:see:`ConnScope::notice_log_json`). The file is followed as it grows
##! (:zeek:see:`Input::STREAM`); a file that does not exist yet is waited for.
##!
##! Each row becomes ``NOTICE(n)`` with connscope's ``ts``, ``note``, ``msg``,
##! ``sub``, ``uid``, ``id``, ``proto``, ``src``, ``dst``, ``p`` (with the
##! row's transport), ``n``, ``suppress_for`` and ``remote_location``;
##! ``identifier`` is ``src/dst/p`` so that Zeek suppresses repeats of the same
##! finding about the same hosts. ``peer_descr`` is "connscope".

@load base/frameworks/input
@load base/frameworks/notice
@load ./main

module ConnScope;

export {
	## connscope's notice.log to read; empty: read nothing.
	const notice_log = "" &redef;

	## The file is connscope's JSON (the default ``--format json``) rather
	## than TSV.
	const notice_log_json = F &redef;

	## How the file is read: :zeek:see:`Input::STREAM` follows it as
	## connscope appends; :zeek:see:`Input::MANUAL` reads it once.
	const notice_log_mode = Input::STREAM &redef;

	## A notice.log connection id whose parts may be unset (notices about
	## hosts carry no connection).
	type NoticeId: record {
		orig_h: addr &optional;
		orig_p: port &optional;
		resp_h: addr &optional;
		resp_p: port &optional;
	};

	## One row of connscope's notice.log: Zeek's Notice::Info columns, as
	## connscope writes them (``remote_location.*`` only with ``--geoip-db``;
	## its fields are optional, so files without them are read too).
	type NoticeLine: record {
		ts: time;
		uid: string &optional;
		id: NoticeId;
		fuid: string &optional;
		file_mime_type: string &optional;
		file_desc: string &optional;
		proto: transport_proto &optional;
		note: Notice::Type;
		msg: string;
		sub: string &optional;
		src: addr &optional;
		dst: addr &optional;
		p: port &optional;
		n: count &optional;
		peer_descr: string &optional;
		actions: set[Notice::Action] &optional;
		email_dest: set[string] &optional;
		suppress_for: interval &optional;
		remote_location: geo_location;
	};

	## A connscope JSON notice.log line (keys with ``.`` read as ``_``;
	## ports are numbers in Zeek's JSON).
	type NoticeJSON: record {
		ts: time;
		uid: string &optional;
		id_orig_h: addr &optional;
		id_orig_p: count &optional;
		id_resp_h: addr &optional;
		id_resp_p: count &optional;
		proto: transport_proto &optional;
		note: Notice::Type;
		msg: string;
		sub: string &optional;
		src: addr &optional;
		dst: addr &optional;
		p: count &optional;
		n: count &optional;
		peer_descr: string &optional;
		suppress_for: interval &optional;
		remote_location_country_code: string &optional;
		remote_location_region: string &optional;
		remote_location_city: string &optional;
		remote_location_latitude: double &optional;
		remote_location_longitude: double &optional;
	};

	## The notice built from a row (before ``NOTICE``).
	global to_notice: function(r: NoticeLine): Notice::Info;

	## Raised for every row read, after its ``NOTICE``.
	global notice_read: event(n: Notice::Info);
}

type RawLine: record {
	s: string;
};

function with_proto(p: port, proto: transport_proto): port
	{
	return count_to_port(port_to_count(p), proto);
	}

function json_key(s: string): string
	{
	return subst_string(s, ".", "_");
	}

function to_notice(r: NoticeLine): Notice::Info
	{
	local n = Notice::Info($ts=r$ts, $note=r$note, $msg=r$msg);
	local proto = r?$proto ? r$proto : unknown_transport;
	if ( r?$proto )
		n$proto = r$proto;
	if ( r?$sub )
		n$sub = r$sub;
	if ( r?$uid )
		n$uid = r$uid;
	if ( r$id?$orig_h && r$id?$orig_p && r$id?$resp_h && r$id?$resp_p )
		n$id = conn_id($orig_h=r$id$orig_h, $orig_p=with_proto(r$id$orig_p, proto),
		    $resp_h=r$id$resp_h, $resp_p=with_proto(r$id$resp_p,
		    proto));
	if ( r?$src )
		n$src = r$src;
	if ( r?$dst )
		n$dst = r$dst;
	if ( r?$p )
		n$p = with_proto(r$p, proto);
	if ( r?$n )
		n$n = r$n;
	if ( r?$suppress_for )
		n$suppress_for = r$suppress_for;
	n$peer_descr = "connscope";
	n$identifier = cat(r?$src ? cat(r$src) : "-", "/", r?$dst ? cat(r$dst) : "-",
	    "/", r?$p ? cat(r$p) : "-");
	local g = r$remote_location;
	if ( g?$country_code || g?$region || g?$city || g?$latitude || g?$longitude )
		n$remote_location = g;
	return n;
	}

function raise_notice(r: NoticeLine)
	{
	local n = to_notice(r);
	NOTICE(n);
	event ConnScope::notice_read(n);
	}

event ConnScope::notice_line(desc: Input::EventDescription, tpe: Input::Event,
    r: NoticeLine)
	{
	raise_notice(r);
	}

event ConnScope::notice_json_line(desc: Input::EventDescription,
    tpe: Input::Event, s: string)
	{
	if ( |s| == 0 || s[0] != "{" )
		return;
	local res = from_json(s, NoticeJSON, json_key);
	if ( ! res$valid )
		{
		Reporter::warning(fmt("connscope notice.log: unreadable line (%s): %s",
		    res?$err ? res$err : "invalid", s));
		return;
		}
	local j = res$v as NoticeJSON;
	local r = NoticeLine($ts=j$ts, $id=NoticeId(), $note=j$note, $msg=j$msg,
	    $remote_location=geo_location());
	if ( j?$uid )
		r$uid = j$uid;
	if ( j?$id_orig_h )
		r$id$orig_h = j$id_orig_h;
	if ( j?$id_orig_p )
		r$id$orig_p = count_to_port(j$id_orig_p, unknown_transport);
	if ( j?$id_resp_h )
		r$id$resp_h = j$id_resp_h;
	if ( j?$id_resp_p )
		r$id$resp_p = count_to_port(j$id_resp_p, unknown_transport);
	if ( j?$proto )
		r$proto = j$proto;
	if ( j?$sub )
		r$sub = j$sub;
	if ( j?$src )
		r$src = j$src;
	if ( j?$dst )
		r$dst = j$dst;
	if ( j?$p )
		r$p = count_to_port(j$p, unknown_transport);
	if ( j?$n )
		r$n = j$n;
	if ( j?$suppress_for )
		r$suppress_for = j$suppress_for;
	if ( j?$remote_location_country_code )
		r$remote_location$country_code = j$remote_location_country_code;
	if ( j?$remote_location_region )
		r$remote_location$region = j$remote_location_region;
	if ( j?$remote_location_city )
		r$remote_location$city = j$remote_location_city;
	if ( j?$remote_location_latitude )
		r$remote_location$latitude = j$remote_location_latitude;
	if ( j?$remote_location_longitude )
		r$remote_location$longitude = j$remote_location_longitude;
	raise_notice(r);
	}

event zeek_init()
	{
	if ( notice_log == "" )
		return;
	if ( notice_log_json )
		Input::add_event([$source=notice_log, $reader=Input::READER_RAW,
		    $mode=notice_log_mode, $name="connscope-notices",
		    $fields=RawLine, $want_record=F,
		    $ev=ConnScope::notice_json_line]);
	else
		Input::add_event([$source=notice_log, $reader=Input::READER_ASCII,
		    $mode=notice_log_mode, $name="connscope-notices",
		    $fields=NoticeLine, $want_record=T,
		    $ev=ConnScope::notice_line]);
	}
