mod rsyslog;
