# The viewer's UI-free part: what is open, the model run, the report and the exports (viewer_state)
# and the model folder's extras (model_info). No GL, no browser:
# wasm/CMakeLists.txt links it into the viewer, and the native build into tests/viewer's suite.
add_library(corona_viewer_state STATIC
  ${CMAKE_CURRENT_LIST_DIR}/viewer_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/model_info.cpp)
target_include_directories(corona_viewer_state PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(corona_viewer_state PUBLIC corona::core)
target_compile_options(corona_viewer_state PRIVATE -Wall -Wextra)
