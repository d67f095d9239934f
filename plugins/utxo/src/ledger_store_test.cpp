// filled in by the utxo work (issue 4)
