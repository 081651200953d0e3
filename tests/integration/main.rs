mod rsyslog;
mod trailers;
