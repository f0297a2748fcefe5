package io.tandem.models.tokenize;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The pair split must equal Hugging Face tokenizers' (cases from its truncation.rs tests). */
class LongestFirstTest {

    @ParameterizedTest
    @CsvSource({
        // lengthA, lengthB, room, keepA, keepB  (room 7 as in tokenizers' own test)
        "0,0,7,0,0", "0,2,7,0,2", "0,4,7,0,4", "0,8,7,0,7",
        "2,0,7,2,0", "2,2,7,2,2", "2,4,7,2,4", "2,8,7,2,5",
        "4,0,7,4,0", "4,2,7,4,2", "4,4,7,3,4", "4,8,7,3,4",
        "8,0,7,7,0", "8,2,7,5,2", "8,4,7,4,3", "8,8,7,3,4",
        // room 0: nothing is kept
        "0,2,0,0,0", "4,4,0,0,0", "8,8,0,0,0"})
    void splitsLikeHuggingFace(int a, int b, int room, int keepA, int keepB) {
        int[] keep = TextTokenizer.longestFirst(a, b, room);
        assertArrayEquals(new int[] {Math.min(keepA, a), Math.min(keepB, b)},
                new int[] {Math.min(keep[0], a), Math.min(keep[1], b)});
    }
}
