# connscope's TSV notice.log rows become Zeek notices: Zeek's notice.log has
# them, and Zeek's suppression drops the repeat of the same finding.
# @TEST-REQUIRES: which zeek
# @TEST-EXEC: zeek -b $PACKAGE %INPUT ConnScope::notice_log=connscope-notice.log
# @TEST-EXEC: zeek-cut note src dst p n peer_descr < notice.log > notices
# @TEST-EXEC: btest-diff notices

redef exit_only_after_terminate = T;
redef ConnScope::notice_log_mode = Input::MANUAL;

event Input::end_of_data(name: string, source: string)
	{
	if ( name == "connscope-notices" )
		terminate();
	}

@TEST-START-FILE connscope-notice.log
#separator \x09
#set_separator	,
#empty_field	(empty)
#unset_field	-
#path	notice
#open	2024-01-01-00-00-00
#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	fuid	file_mime_type	file_desc	proto	note	msg	sub	src	dst	p	n	peer_descr	actions	email_dest	suppress_for
#types	time	string	addr	port	addr	port	string	string	string	enum	enum	string	string	addr	addr	port	count	string	set[enum]	set[string]	interval
1704067230.190000	CToLJr1lxfqgW41sqj	10.0.0.66	45019	10.1.0.20	22	-	-	-	tcp	ConnScope::Scan	10.0.0.66 probed 20 hosts on 22/tcp in 1 s	hosts=20 ports=1	10.0.0.66	-	22	20	connscope	Notice::ACTION_LOG	(empty)	3600.000000
1704067231.190000	CToLJr1lxfqgW41sqk	10.0.0.66	45020	10.1.0.21	22	-	-	-	tcp	ConnScope::Scan	10.0.0.66 probed 21 hosts on 22/tcp in 1 s	hosts=21 ports=1	10.0.0.66	-	22	21	connscope	Notice::ACTION_LOG	(empty)	3600.000000
1704067290.000000	-	-	-	-	-	-	-	-	-	ConnScope::Host_Volume	10.0.0.5 made 400 connections in 60 s	conns=400	10.0.0.5	-	-	400	connscope	Notice::ACTION_LOG	(empty)	3600.000000
#close	2024-01-01-00-01-30
@TEST-END-FILE
