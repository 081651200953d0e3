mod explain;
mod history;
mod policy;
mod push;
mod rsyslog;
mod support;
mod trailers;
