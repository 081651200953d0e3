mod explain;
mod history;
mod http_backend;
mod ops;
mod push;
mod rsyslog;
mod support;
mod trailers;
