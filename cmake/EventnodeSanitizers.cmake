# With EVENTNODE_SANITIZE every target of ours is built and linked with ASan+UBSan;
# with EVENTNODE_TSAN, with ThreadSanitizer; with EVENTNODE_FUZZ, with ASan+UBSan
# and libFuzzer's coverage hooks (fuzzer-no-link: the fuzz executables alone
# link libFuzzer's main, see tests/fuzz/CMakeLists.txt).
function(eventnode_set_sanitizers target)
  if(EVENTNODE_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(EVENTNODE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(EVENTNODE_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()
