mod rsyslog;
mod systemd;
mod trailers;
