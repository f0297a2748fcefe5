package io.tandem.models.infer;

import java.time.Duration;

/** Where one request's (or one input's) time went. For a request, TEI reports the inputs' means. */
public record Timings(Duration total, Duration tokenization, Duration queue, Duration inference) {
}
