##! connscope's schema for Zeek: the record types of connscope's
##! flowmeter.log, context.log and score.log, the ConnScope::* notice types,
##! flow statistics computed in Zeek script (flowmeter.log), and a reader that
##! raises the rows of connscope's notice.log as Zeek notices.

@load ./main
@load ./flowmeter
@load ./notice-reader
