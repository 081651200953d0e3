mod trailers;
