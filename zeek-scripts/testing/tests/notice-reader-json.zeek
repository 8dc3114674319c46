# The same from connscope's JSON notice.log (the default --format json).
# @TEST-REQUIRES: which zeek
# @TEST-EXEC: zeek -b $PACKAGE %INPUT ConnScope::notice_log=connscope-notice.log
# @TEST-EXEC: zeek-cut note src dst p n peer_descr < notice.log > notices
# @TEST-EXEC: btest-diff notices

redef exit_only_after_terminate = T;
redef ConnScope::notice_log_mode = Input::MANUAL;
redef ConnScope::notice_log_json = T;

event Input::end_of_data(name: string, source: string)
	{
	if ( name == "connscope-notices" )
		terminate();
	}

@TEST-START-FILE connscope-notice.log
{"ts":1704067230.19,"uid":"CToLJr1lxfqgW41sqj","id.orig_h":"10.0.0.66","id.orig_p":45019,"id.resp_h":"10.1.0.20","id.resp_p":22,"proto":"tcp","note":"ConnScope::Scan","msg":"10.0.0.66 probed 20 hosts on 22/tcp in 1 s","sub":"hosts=20 ports=1","src":"10.0.0.66","p":22,"n":20,"peer_descr":"connscope","actions":["Notice::ACTION_LOG"],"suppress_for":3600.0}
{"ts":1704067231.19,"uid":"CToLJr1lxfqgW41sqk","id.orig_h":"10.0.0.66","id.orig_p":45020,"id.resp_h":"10.1.0.21","id.resp_p":22,"proto":"tcp","note":"ConnScope::Scan","msg":"10.0.0.66 probed 21 hosts on 22/tcp in 1 s","sub":"hosts=21 ports=1","src":"10.0.0.66","p":22,"n":21,"peer_descr":"connscope","actions":["Notice::ACTION_LOG"],"suppress_for":3600.0}
{"ts":1704067290.0,"note":"ConnScope::Host_Volume","msg":"10.0.0.5 made 400 connections in 60 s","sub":"conns=400","src":"10.0.0.5","n":400,"peer_descr":"connscope","actions":["Notice::ACTION_LOG"],"suppress_for":3600.0}
@TEST-END-FILE
