mod explain;
mod history;
mod push;
mod rsyslog;
mod support;
mod trailers;
