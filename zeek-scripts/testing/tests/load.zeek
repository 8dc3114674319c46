# The package loads in bare mode and defines connscope's notice types, log
# ids and record types.
# @TEST-REQUIRES: which zeek
# @TEST-EXEC: zeek -b $PACKAGE %INPUT > output
# @TEST-EXEC: btest-diff output

event zeek_init()
	{
	print ConnScope::Scan;
	print ConnScope::Flood;
	print ConnScope::Brute_Force;
	print ConnScope::Beacon;
	print ConnScope::DNS_Tunnel;
	print ConnScope::Slow_HTTP;
	print ConnScope::Host_Volume;
	print ConnScope::Coordinated;
	print ConnScope::FLOWMETER_LOG, ConnScope::CONTEXT_LOG, ConnScope::SCORE_LOG;
	print |record_fields(ConnScope::FlowmeterInfo)|;
	print |record_fields(ConnScope::ContextInfo)|;
	print |record_fields(ConnScope::ScoreInfo)|;
	}
