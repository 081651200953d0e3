mod explain;
mod history;
mod ops;
mod push;
mod rsyslog;
mod support;
mod trailers;
